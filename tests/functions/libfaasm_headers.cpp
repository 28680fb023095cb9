/*
 * Exercises the SDK's Faasm helper headers and the newest libfaasm host
 * calls; the input picks the check. Each mode sets an output the test
 * compares, or fails the call.
 */
#include <faasm/array.h>
#include <faasm/compare.h>
#include <faasm/counter.h>
#include <faasm/emscripten.h>
#include <faasm/faasm.h>
#include <faasm/files.h>
#include <faasm/host_interface_test.h>
#include <faasm/input.h>
#include <faasm/migrate.h>
#include <faasm/random.h>
#include <faasm/shared_mem.h>
#include <faasm/state.h>
#include <faasm/time.h>

#include <cstdio>
#include <cstring>
#include <string>

static int fail(const char* why)
{
    faasm::setStringOutput(why);
    return 1;
}

static int helpers()
{
    // getIntInput / parseStringToIntArray on a fixed string
    int* ints = faasm::parseStringToIntArray("3 -4 5", 3);
    int expected[3] = { 3, -4, 5 };
    if (!faasm::compareArrays<int>(ints, expected, 3)) {
        return fail("parseStringToIntArray");
    }
    uint8_t a[2] = { 1, 2 }, b[2] = { 1, 3 };
    if (faasm::compareArrays<uint8_t>(a, b, 2)) {
        return fail("compareArrays missed a difference");
    }
    char buf[32];
    siprintf(buf, "n=%d", 42);
    int r = faasm::randomInteger(5, 7);
    float f = faasm::randomFloat();
    int* range = faasm::randomIntRange(4);
    int seen = 0;
    for (int i = 0; i < 4; i++) {
        seen |= 1 << range[i];
    }
    if (r < 5 || r > 7 || f < 0 || f >= 1 || seen != 15 ||
        faasm::randomString(6).size() != 6) {
        return fail("random");
    }
    double now = faasm::getSecondsSinceEpoch();
    FAASM_PROF_START(step)
    FAASM_PROF_END(step)
    if (now < 1.6e9) {
        return fail("getSecondsSinceEpoch");
    }
    // Both faasmSetOutput forms; the last one wins.
    faasmSetOutput(reinterpret_cast<const uint8_t*>("bytes"), 5);
    std::string out = std::string(buf) + " ok";
    faasmSetOutput(out.c_str(), static_cast<long>(out.size()));
    return 0;
}

static int state()
{
    faasm::initCounter("counter");
    faasm::incrementCounter("counter");
    faasm::incrementCounter("counter", true);
    int count = faasm::getCounter("counter");

    faasm::AsyncArray<int> arr("array", 4);
    arr.zero();
    arr[1] = 11;
    arr[3] = 33;
    arr.push();

    // Mask: push only element 2 of a double array.
    double values[3] = { 1.5, 2.5, 3.5 };
    faasmWriteState("doubles", reinterpret_cast<uint8_t*>(values), sizeof(values));
    double* local = reinterpret_cast<double*>(faasmReadStatePtr("doubles", sizeof(values)));
    local[0] = -1;
    local[2] = 9.25;
    unsigned int mask[6] = { 0 };
    faasm::maskDouble(mask, 2);
    faasmWriteState("mask", reinterpret_cast<uint8_t*>(mask), sizeof(mask));
    faasmPushStatePartialMask("doubles", "mask");

    char out[64];
    snprintf(out, sizeof(out), "count=%d", count);
    faasm::setStringOutput(out);
    return 0;
}

static int files()
{
    FILE* f = fopen("faasm://headers_test.txt", "w");
    if (f == nullptr) {
        return fail("cannot write the shared file");
    }
    fputs("file contents", f);
    fclose(f);
    char* text = faasm::readFileToString("faasm://headers_test.txt");
    long len = faasm::getFileLength("faasm://headers_test.txt");
    if (text == nullptr || len != 13 || faasm::getFileLength("faasm://absent") != -1) {
        return fail("files.h");
    }
    faasm::setStringOutput(text);
    return 0;
}

static int shared_mem()
{
    int total = 5;
    FAASM_REDUCE(total, FAASM_TYPE_INT, FAASM_OP_SUM)
    FAASM_ATOMIC_INCR(total)
    FAASM_ATOMIC_INCR_BY(total, 10)
    double d = 1.5;
    __faasm_sm_var(&d, FAASM_TYPE_DOUBLE);
    __faasm_sm_array(&total, FAASM_TYPE_INT, 1);
    char out[32];
    snprintf(out, sizeof(out), "total=%d", total);
    faasm::setStringOutput(out);
    return 0;
}

static void never_called(int) {}

static int misc(const std::string& mode)
{
    if (mode == "exception") {
        __faasm_host_interface_test(ExceptionPropagationTest);
        return fail("host_interface_test returned");
    }
    if (mode == "bad-reduce") {
        int x = 0;
        __faasm_sm_reduce(&x, FAASM_TYPE_INT, 99, 0);
        return 0;
    }
    if (mode == "backtrace-fail") {
        faasmBacktrace(2);
        return 3;
    }
    if (mode == "unbalanced-critical") {
        __faasm_sm_critical_local_end();
        return 0;
    }
    __faasm_host_interface_test(NoTest);
    __faasm_migrate_point(never_called, 3);
    faasmBacktrace(4);
    char* entry = faasmGetPythonEntry();
    faasm::setStringOutput(entry);
    return 0;
}

int main(int argc, char* argv[])
{
    std::string mode = faasm::getStringInput("helpers");
    if (mode == "helpers") {
        return helpers();
    }
    if (mode == "state") {
        return state();
    }
    if (mode == "files") {
        return files();
    }
    if (mode == "shared_mem") {
        return shared_mem();
    }
    return misc(mode);
}
