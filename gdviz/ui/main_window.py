"""The main window: composition and wiring only."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("gdviz")
        self.setCentralWidget(QLabel("gdviz"))
        self.resize(1280, 800)

    def open_session(self, path: str) -> None:
        raise NotImplementedError(path)
