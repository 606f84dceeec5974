"""PNG figures for the commands, when matplotlib is installed."""

from __future__ import annotations

from pathlib import Path

PLOT_HINT = "pip install 'emmix[plot]'"


class Figures:
    """Writes PNG figures if matplotlib is installed; remembers what it wrote."""

    def __init__(self, out_dir: Path, enabled: bool = True):
        self.out_dir = out_dir
        self.written: list[str] = []
        self.skipped_reason = None
        self.figure_class = None
        if not enabled:
            self.skipped_reason = "disabled"
            return
        try:
            # The object-oriented Figure needs no GUI backend and leaves
            # pyplot's global state alone.
            from matplotlib.figure import Figure
        except ImportError:
            self.skipped_reason = f"matplotlib is not installed ({PLOT_HINT})"
        else:
            self.figure_class = Figure

    @property
    def available(self) -> bool:
        """Whether figures can be drawn (matplotlib is installed)."""
        return self.figure_class is not None

    def new(self, n_panels: int = 1, width: float = 6.0):
        """A figure of ``n_panels`` side by side, and their Axes."""
        figure = self.figure_class(
            figsize=(width * n_panels, 4.6), layout="constrained"
        )
        axes = figure.subplots(1, n_panels, squeeze=False)[0]
        return figure, list(axes)

    def save(self, figure, name: str) -> None:
        """Write ``figure`` as ``name`` in the output folder."""
        path = self.out_dir / name
        figure.savefig(path, dpi=100)
        self.written.append(str(path))
