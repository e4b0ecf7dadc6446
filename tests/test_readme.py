"""README's examples run as they are written: every ```python block is executed, in order, in
one namespace (a reader copies them top to bottom)."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_examples():
    assert python_blocks(), "README.md has no ```python example"


def test_every_readme_python_example_runs():
    namespace: dict = {}
    for block in python_blocks():
        exec(compile(block, str(README), "exec"), namespace)
    # The ten-line tour ends with a layer on the hand-written backward and a torch twin.
    assert type(namespace["native"]).__name__ == "LSTM"
    assert namespace["out"].shape == (100, 32, 46)
