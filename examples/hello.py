"""hello_py: greets its input (docs/CLI.md, "A Python function")."""
from pyfaasm.core import get_input, set_output


def faasm_main():
    name = get_input().decode() or "faasm"
    print(f"printing for {name}")
    set_output(f"Hello {name}!".encode())
