"""Smaller GUI pieces: the first-run model panel, the log panel, settings."""

from __future__ import annotations

import contextlib
import io
import logging
import threading

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from tqdm import tqdm

from joytag_desktop import failures
from joytag_desktop.gui.i18n import LANGUAGES, number
from joytag_desktop.gui.messages import for_window
from joytag_desktop.gui.model_settings import ModelsPage
from joytag_desktop.gui.presets import DECIMALS, fill_presets, show_preset
from joytag_desktop.gui.settings import GuiSettings
from joytag_desktop.library.thresholds import PRESETS


class DownloadCancelled(Exception):
    """Raised inside the download's progress hook when the user cancels."""


class ModelDownload(QObject):
    """Downloads a catalogue model in a thread; progress and the outcome arrive as signals."""

    progress = Signal(int, int)  # bytes done, bytes total
    finished = Signal(str)  # model folder
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, name: str = "joytag") -> None:
        self.name = name
        self._cancel.clear()
        self._thread = threading.Thread(target=self._run, name="joytag-download", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def _run(self) -> None:
        from joytag_desktop.errors import JoyTagError
        from joytag_desktop.taggers.hub import download_model

        owner = self

        class ProgressTqdm(tqdm):
            def __init__(self, *args, **kwargs) -> None:
                kwargs["disable"] = False
                kwargs["file"] = io.StringIO()  # progress goes to the GUI, not a terminal
                super().__init__(*args, **kwargs)

            def update(self, n: float | None = 1) -> bool | None:
                if owner._cancel.is_set():
                    raise DownloadCancelled
                result = super().update(n)
                if self.unit == "B" or (self.total or 0) > 1000:
                    owner.progress.emit(int(self.n), int(self.total or 0))
                return result

        try:
            folder = download_model(self.name, tqdm_class=ProgressTqdm)
        except DownloadCancelled:
            self.failed.emit(QCoreApplication.translate("ModelDownload", "Download cancelled."))
        except JoyTagError as exc:
            self.failed.emit(for_window(str(exc)))
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
            if owner._cancel.is_set():
                self.failed.emit(QCoreApplication.translate("ModelDownload", "Download cancelled."))
            else:
                self.failed.emit(
                    QCoreApplication.translate("ModelDownload", "Download failed: {error}").format(error=exc)
                )
        else:
            self.finished.emit(str(folder))


class FirstRunPanel(QFrame):
    """Shown when no model is available: download JoyTag, or choose a folder."""

    model_ready = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("firstRun")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#firstRun { background: #2d3340; border-radius: 6px; }")
        title = QLabel(self.tr("<b>JoyTag needs its model to tag images</b>"))
        self.message = QLabel(
            self.tr(
                "The JoyTag model (about 366 MB) is downloaded once from the Hugging Face Hub. "
                "If you already have it, choose its folder (config.json, model.safetensors, top_tags.txt). "
                "You can browse and search your library meanwhile."
            )
        )
        self.message.setWordWrap(True)
        self.download_button = QPushButton(self.tr("Download JoyTag"))
        self.choose_button = QPushButton(self.tr("Choose model folder…"))
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.hide()
        self.bar = QProgressBar()
        self.bar.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.choose_button)
        buttons.addWidget(self.bar, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.download = ModelDownload(self)
        self.download_button.clicked.connect(self._start_download)
        self.cancel_button.clicked.connect(self.download.cancel)
        self.choose_button.clicked.connect(self._choose)
        self.download.progress.connect(self._progress)
        self.download.finished.connect(self._done)
        self.download.failed.connect(self._failed)

    def _start_download(self) -> None:
        self.download_button.setEnabled(False)
        self.bar.setRange(0, 0)
        self.bar.show()
        self.cancel_button.show()
        self.message.setText(self.tr("Downloading JoyTag…"))
        self.download.start()

    def _progress(self, done: int, total: int) -> None:
        if total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(done / total * 1000))
            self.bar.setFormat(
                self.tr("{done} of {total} MB").format(done=number(done / 1e6), total=number(total / 1e6))
            )

    def _done(self, folder: str) -> None:
        self.bar.hide()
        self.cancel_button.hide()
        self.message.setText(self.tr("JoyTag is installed in {folder}.").format(folder=folder))
        self.model_ready.emit(folder)

    def _failed(self, message: str) -> None:
        self.bar.hide()
        self.cancel_button.hide()
        self.download_button.setEnabled(True)
        self.message.setText(message)

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose the JoyTag model folder"))
        if folder:
            self.model_ready.emit(folder)


class QtLogHandler(logging.Handler, QObject):
    """A logging handler whose records reach the GUI thread as a signal; an error's one line (for
    the status bar) comes apart from its full text with the traceback (for the log panel)."""

    record_formatted = Signal(str, int)
    error_line = Signal(str, bool)  # the error in one line; whether the log holds more (a traceback)

    def __init__(self) -> None:
        logging.Handler.__init__(self)
        QObject.__init__(self)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:  # type: ignore[override]
        with contextlib.suppress(RuntimeError):  # the panel is gone (shutting down)
            self.record_formatted.emit(self.format(record), record.levelno)
            if record.levelno >= logging.ERROR:
                self.error_line.emit(*error_summary(record))


def error_summary(record: logging.LogRecord) -> tuple[str, bool]:
    """An error record's first line, with its exception in one line (never the traceback), and
    whether more of it is in the log."""
    lines = record.getMessage().strip().splitlines() or [""]
    line, more = lines[0], len(lines) > 1
    if record.exc_info and record.exc_info[1] is not None:
        line, more = f"{line}: {failures.describe(record.exc_info[1])}", True
    return line, more


class LogPanel(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(5000)

    def append_line(self, text: str, level: int = logging.INFO) -> None:
        self.appendPlainText(text)


class SettingsDialog(QDialog):
    """Model, device, batch size, thresholds and database location."""

    def __init__(
        self,
        settings: GuiSettings,
        threshold: float,
        storage_floor: float,
        parent: QWidget | None = None,
        models: list | None = None,
        model_thresholds: dict[str, dict[str, float]] | None = None,
        model_rules: dict | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Settings"))
        self.settings = settings
        self.model = QLineEdit(settings.model)
        self.model.setPlaceholderText(self.tr("the downloaded JoyTag"))
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse_model)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(browse)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.device.setCurrentText(settings.device)
        self.batch = QSpinBox(minimum=0, maximum=1024)
        self.batch.setSpecialValueText(self.tr("automatic"))
        self.batch.setValue(settings.batch_size)
        self.preset = QComboBox()
        fill_presets(self.preset)
        self.threshold = QDoubleSpinBox(minimum=0.01, maximum=1.0, singleStep=0.01, decimals=DECIMALS, value=threshold)
        show_preset(self.preset, threshold)
        self.threshold.valueChanged.connect(lambda value: show_preset(self.preset, value))
        self.preset.activated.connect(
            lambda i: self.preset.itemData(i) and self.threshold.setValue(PRESETS[self.preset.itemData(i)])
        )
        self.floor = QDoubleSpinBox(minimum=0.0, maximum=0.5, singleStep=0.01, decimals=2, value=storage_floor)
        self.floor.setToolTip(self.tr("AI scores below this are not stored (applies to images tagged from now on)"))
        self.naming = QComboBox()
        self.naming.addItem(self.tr("photo.jpg.xmp (digiKam, darktable)"), "jpg.xmp")
        self.naming.addItem(self.tr("photo.xmp (Lightroom, Capture One)"), "xmp")
        self.naming.setCurrentIndex(max(0, self.naming.findData(settings.sidecar_naming)))
        self.parent_keyword = QLineEdit(settings.keyword_parent)
        self.by_category = QCheckBox(self.tr("File keywords by category (JoyTag|character|name)"))
        self.by_category.setChecked(settings.keywords_by_category)
        self.skip_ratings = QCheckBox(self.tr("Leave rating tags out of keywords and captions"))
        self.skip_ratings.setChecked(settings.export_skip_ratings)
        self.auto_sidecars = QCheckBox(self.tr("Write XMP sidecars automatically after tagging"))
        self.auto_sidecars.setChecked(settings.auto_sidecars)
        self.backup = QCheckBox(self.tr("Keep a backup when writing keywords into image files"))
        self.backup.setChecked(settings.embedded_backup)
        self.database = QLineEdit(settings.database)
        self.language = QComboBox()
        for code, name in LANGUAGES.items():
            self.language.addItem(self.tr("System default") if not code else name, code)
        self.language.setCurrentIndex(max(0, self.language.findData(settings.language)))
        self.language.setToolTip(
            self.tr("The language of the window (used from the next start); tags stay as the model names them")
        )
        self.database.setPlaceholderText(self.tr("library.sqlite3 in the data folder (takes effect on restart)"))
        self.database.setToolTip(
            self.tr(
                "A library file (path), or a library shared by several computers on a PostgreSQL server: "
                "postgresql+psycopg://user:password@server/database"
            )
        )
        form = QFormLayout()
        form.addRow(self.tr("Model folder"), model_row)
        form.addRow(self.tr("Device"), self.device)
        form.addRow(self.tr("Batch size"), self.batch)
        form.addRow(self.tr("Threshold preset"), self.preset)
        form.addRow(self.tr("Threshold"), self.threshold)
        form.addRow(self.tr("Storage floor"), self.floor)
        form.addRow(self.tr("Sidecar naming"), self.naming)
        form.addRow(self.tr("Keyword parent"), self.parent_keyword)
        form.addRow("", self.by_category)
        form.addRow("", self.skip_ratings)
        form.addRow("", self.auto_sidecars)
        form.addRow("", self.backup)
        form.addRow(self.tr("Database"), self.database)
        form.addRow(self.tr("Language"), self.language)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        general = QWidget()
        general.setLayout(form)
        self.models_page = ModelsPage(models or [], model_thresholds or {}, rules=model_rules)
        self.tabs = QTabWidget()
        self.tabs.addTab(general, self.tr("General", "settings tab"))
        self.tabs.addTab(self.models_page, self.tr("Models"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)

    def _browse_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose the JoyTag model folder"), self.model.text())
        if folder:
            self.model.setText(folder)

    def save(self) -> None:
        settings = self.settings
        settings.model = self.model.text().strip()
        settings.device = self.device.currentText()
        settings.batch_size = self.batch.value()
        settings.database = self.database.text().strip()
        settings.sidecar_naming = self.naming.currentData()
        settings.keyword_parent = self.parent_keyword.text().strip() or GuiSettings.keyword_parent.default
        settings.auto_sidecars = self.auto_sidecars.isChecked()
        settings.keywords_by_category = self.by_category.isChecked()
        settings.export_skip_ratings = self.skip_ratings.isChecked()
        settings.embedded_backup = self.backup.isChecked()
        settings.language = self.language.currentData()


def resize_within_screen(widget: QWidget, width: int, height: int) -> None:
    """Resize to ``width``×``height``, never beyond nine tenths of the available screen (a 1024×700
    laptop must still see the window's edges and buttons)."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    available = screen.availableGeometry()
    widget.resize(min(width, int(available.width() * 0.9)), min(height, int(available.height() * 0.9)))
