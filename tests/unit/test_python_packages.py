"""Faasm's Python packages (faasm/runtime/python/packages.py): the pinned list, its install
(once, whole, compiled, pure Python only), the folder calls see, and images keyed by it.

The install tests use wheels made here (pip installs a wheel file named in the list without
an index); the last tests run the default list, which the set-up step installs."""

import re
import zipfile
from pathlib import Path

import pytest

from faasm.calls import Call
from faasm.functions import Functions
from faasm.runtime.python import PythonRuntime, packages
from faasm.runtime.python.cache import install_packages
from faasm.settings import Settings
from faasm.storage import open_storage
from tests.unit.test_python_runtime import CACHE, warm  # noqa: F401 - the fixture


def make_wheel(folder: Path, name: str, files: dict[str, str],
               tag: str = "py3-none-any") -> Path:
    dist = f"{name}-1.0.dist-info"
    entries = dict(files)
    entries[f"{dist}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
    entries[f"{dist}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: "
                                f"{'true' if tag.endswith('-any') else 'false'}\nTag: {tag}\n")
    entries[f"{dist}/RECORD"] = "".join(f"{path},,\n" for path in [*entries, f"{dist}/RECORD"])
    path = folder / f"{name}-1.0-{tag}.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in entries.items():
            archive.writestr(member, text)
    return path


def listing(folder: Path, *wheels: Path) -> Path:
    path = folder / "python-packages.txt"
    path.write_text("".join(f"{wheel}\n" for wheel in wheels))
    return path


def test_the_list_pins_every_package_and_names_bench_deltablues():
    lines = [line.split("#")[0].strip() for line in packages.LIST.read_text().splitlines()]
    pins = dict(line.split("==") for line in lines if line)
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+", n) and re.fullmatch(r"[0-9.]+", v)
               for n, v in pins.items()), pins
    # pyperformance 0.9.1 is the last with pyperformance.benchmarks.bm_deltablue; it needs
    # pyperf and six, installed without dependencies, so named here too.
    assert {"pyperformance": "0.9.1"}.items() <= pins.items()
    assert {"pyperf", "six"} <= pins.keys()


def test_install_once_whole_and_compiled_and_again_when_the_list_changes(warm, tmp_path):  # noqa: F811
    root = tmp_path / "packages"
    first = listing(tmp_path, make_wheel(tmp_path, "greeting",
                                         {"greeting/__init__.py": "WORD = 'hello'\n"}))
    assert packages.install(first, root, Path(CACHE)) is True
    folder = packages.installed_dir(root, first)
    assert folder.name == packages.list_digest(first)
    names = {str(p.relative_to(folder)) for p in folder.rglob("*")}
    assert {"greeting/__init__.py", "greeting/__pycache__/__init__.cpython-315.pyc",
            "greeting-1.0.dist-info/METADATA"} <= names, names
    assert {name.split("/")[0] for name in names} == {"greeting", "greeting-1.0.dist-info"}
    assert packages.install(first, root, Path(CACHE)) is False
    assert sorted(p.name for p in root.iterdir()) == [".install.lock", folder.name]

    (tmp_path / "v2").mkdir()
    second = listing(tmp_path, make_wheel(tmp_path / "v2", "greeting",
                                          {"greeting/__init__.py": "WORD = 'again'\n"}))
    assert packages.install(second, root, Path(CACHE)) is True
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [".install.lock", folder.name, packages.list_digest(second)])


@pytest.mark.parametrize("tag, files, refusal", [
    ("py3-none-any", {"fast/__init__.py": "", "fast/_speed.so": "\x7fELF"},
     "hold native code.*fast/_speed.so"),
    ("cp311-cp311-linux_x86_64", {"fast/__init__.py": ""}, "pip could not install"),
])
def test_native_code_is_refused_and_nothing_is_left(tmp_path, tag, files, refusal):
    root = tmp_path / "packages"
    wheels = listing(tmp_path, make_wheel(tmp_path, "fast", files, tag))
    with pytest.raises(RuntimeError, match=refusal):
        packages.install(wheels, root, Path(CACHE))
    assert [p.name for p in root.iterdir()] == [".install.lock"]


def test_the_folder_calls_see(tmp_path):
    settings = Settings().replace(python_cache_path=str(tmp_path))
    assert packages.folder(settings) is None  # the set-up step has not installed the list
    installed = packages.installed_dir(packages.default_root(tmp_path))
    installed.mkdir(parents=True)
    assert packages.folder(settings) == installed
    assert packages.folder(settings.replace(python_packages="none")) is None
    assert packages.folder(settings.replace(python_packages="/srv/py")) == Path("/srv/py")


def run(runtime: PythonRuntime, store, source: str, call_id: int = 1) -> bytes:
    Functions(store).put_python("u", "f", source.encode())
    return runtime.execute(Call(id=call_id, user="u", function="f", python=True)).output


def test_a_changed_package_folder_never_starts_a_call_from_an_older_image(warm, tmp_path):  # noqa: F811
    site = tmp_path / "site"
    site.mkdir()
    (site / "greeting.py").write_text("WORD = 'one'\n")
    store = open_storage(str(tmp_path / "store"))
    source = "import greeting\nfrom pyfaasm.core import set_output\nset_output(greeting.WORD)\n"
    settings = Settings().replace(python_cache_path=CACHE, python_packages=str(site))
    first = PythonRuntime(settings, store)
    first.prewarm()
    assert first.snapshots is not None
    assert run(first, store, source) == b"one"
    (site / "greeting.py").write_text("WORD = 'two, a new release'\n")
    second = PythonRuntime(settings, store)  # a worker started after the change
    second.prewarm()
    assert run(second, store, source) == b"two, a new release"
    assert first.snapshots.sandbox.layout.key() != second.snapshots.sandbox.layout.key()


@pytest.mark.parametrize("snapshots", [True, False], ids=["images", "fresh"])
def test_faasms_packages_are_there_by_default(warm, tmp_path, snapshots):  # noqa: F811
    install_packages(Path(CACHE))  # the set-up step's (done already by `make test`)
    store = open_storage(str(tmp_path))
    runtime = PythonRuntime(Settings().replace(python_cache_path=CACHE, call_timeout=60.0,
                                               python_snapshots=snapshots), store)
    assert runtime.packages == packages.installed_dir(packages.default_root(Path(CACHE)))
    output = run(runtime, store, '''
import os
import pyperf
import six
from pyperformance.benchmarks.bm_deltablue import delta_blue
from pyfaasm.core import set_output

def faasm_main():
    delta_blue(20)
    set_output(f"{pyperf.__file__} {os.path.isfile(pyperf.__spec__.cached)} {six.__version__}")
''')
    assert output == b"/lib/python3.15/site-packages/pyperf/__init__.py True 1.17.0"
