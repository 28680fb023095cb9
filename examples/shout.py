"""shout: the input in capitals (a Python function: `faasm upload-py demo shout shout.py`)."""
from pyfaasm.core import get_input, set_output


def faasm_main():
    text = get_input().decode() or "nothing to shout"
    print(f"shouting {len(text)} characters")
    set_output(text.upper().encode())
