"""README.md: its first Python snippet runs as it stands."""

import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_first_python_snippet_runs_as_it_stands():
    snippets = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    namespace: dict = {}
    exec(compile(snippets[0], "README.md", "exec"), namespace)  # no X, w given
    assert namespace["gm"].n_components == 3


def test_setup_commands_share_one_virtual_environment():
    text = README.read_text()
    commands = re.search(r"```bash\n(.*?)```", text, flags=re.DOTALL)[1].splitlines()
    assert commands[0].startswith("python3 -m venv .venv &&")
    # The second command reuses .venv: it does not create it again.
    assert "venv" not in commands[1].split(".venv/bin/")[0]
