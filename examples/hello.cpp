// hello (C++): greets the input (or the world) and sets that as the output.
#include <faasm/faasm.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

std::string inputString()
{
    std::vector<uint8_t> buf(static_cast<size_t>(faasmGetInputSize()));
    faasmGetInput(buf.data(), static_cast<long>(buf.size()));
    return std::string(buf.begin(), buf.end());
}

}  // namespace

FAASM_MAIN_FUNC()
{
    std::string name = inputString();
    std::string greeting = "Hello " + (name.empty() ? std::string("faasm") : name) + "!";
    std::printf("%s\n", greeting.c_str());
    faasmSetOutput(BYTES_CONST(greeting.data()), static_cast<long>(greeting.size()));
    return 0;
}
