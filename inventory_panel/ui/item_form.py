"""``ItemForm``: add a new item or edit one, validated by the same field rules (and messages) as the CSV import.

Editing keeps the version the form was loaded at. If someone else saves the item meanwhile, an untouched form
simply reloads; a form with unsaved changes is left alone and says so, and saving then reports the conflict with
both values side by side, offering to save the person's values over the new ones or to load the new ones.
Saving writes in a worker thread (``background.in_worker``): a busy database keeps only this person waiting.
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

import panel as pn
import param

from ..errors import ConflictError, DuplicateValueError, InventoryError, NotFoundError, ValidationError
from ..fields import FIELDS, Field, form_rows
from .background import in_worker
from .messages import Notice
from .model import InventoryModel
from .notify import notify, report_error

# Suggestions the session's model keeps current (its filter menus); others are read when the form is built.
MODEL_SUGGESTIONS = ("categories", "locations")
PLACEHOLDERS = {"integer": "a whole number, e.g. 5", "decimal": "e.g. 12.50"}
# A field the last save refused is marked (``INVALID`` class, set by ``ItemForm.mark_invalid``): a red border and
# label, not colour alone — the notice above the form lists each field's problem by its label.
INVALID = "invalid"
INVALID_CSS = """
:host(.invalid) input, :host(.invalid) textarea { border-color: var(--inv-out, #b91c1c) !important;
  box-shadow: 0 0 0 1px var(--inv-out, #b91c1c); }
:host(.invalid) label { color: var(--inv-out, #b91c1c); }
"""


def as_text(value: Any) -> str:
    """A stored value as the text a form field shows (Decimal keeps its exact digits)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def field_label(field: Field) -> str:
    return f"{field.label} *" if field.required else field.label


def error_lines(errors: dict[str, str], fields: tuple[Field, ...] = FIELDS) -> list[str]:
    """Messages of a ``ValidationError`` in form order, as the import words them."""
    order = {f.name: i for i, f in enumerate(f for row in form_rows(fields) for f in row)}
    return [message for _name, message in sorted(errors.items(), key=lambda kv: order.get(kv[0], len(order)))]


class ItemForm(pn.viewable.Viewer):
    """Fields of one item with Save; ``item_id`` None means adding a new item."""

    model = param.ClassSelector(class_=InventoryModel, doc="The session's shared state.")
    item_id = param.Integer(default=None, allow_None=True, doc="The item being edited; None while adding one.")
    version = param.Integer(default=None, allow_None=True, doc="The item's version when the form was loaded.")
    saved = param.Event(doc="Triggered after a successful save (add or edit).")
    fields = param.Parameter(
        default=FIELDS,
        constant=True,
        doc="The field spec the form shows, row by row as each field's Display places it.",
    )

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._loaded: dict[str, str] = {}
        self._conflict: dict[str, Any] | None = None
        self._rows = form_rows(self.fields)
        self.inputs: dict[str, pn.widgets.Widget] = {f.name: self._input(f) for row in self._rows for f in row}
        for name, widget in self.inputs.items():
            # Typing in a marked field takes its mark away: the person is fixing it.
            widget.param.watch(partial(self._unmark, name), "value_input")
        self.banner = Notice(kind="error")
        self.save_button = pn.widgets.Button(label="Add item", color="primary", width=130)
        self.save_button.on_click(self._on_save)
        self.revert_button = pn.widgets.Button(label="Discard changes", color="default", variant="outline", width=140)
        self.revert_button.on_click(lambda _event: self.reload())
        self.overwrite_button = pn.widgets.Button(label="Save mine anyway", color="warning", width=150, visible=False)
        self.overwrite_button.on_click(self._on_overwrite)
        self._pending = False  # a save is being written: another click must not save twice
        self.load(None if self.item_id is None else self.model.inventory.get(self.item_id))
        rows = [
            pn.Row(*(self.inputs[f.name] for f in row), sizing_mode="stretch_width", margin=0) for row in self._rows
        ]
        # ``actions`` holds buttons a container adds after the form's own (the item panel's Delete).
        self.actions = pn.Row(margin=0)
        buttons = pn.Row(
            self.save_button,
            self.overwrite_button,
            self.revert_button,
            pn.layout.HSpacer(),
            self.actions,
            margin=(10, 0),
            sizing_mode="stretch_width",
        )
        self._layout = pn.Column(self.banner, *rows, buttons, sizing_mode="stretch_width")

    def _input(self, field: Field) -> pn.widgets.Widget:
        common = {
            "label": field_label(field),
            "description": field.help,
            "sizing_mode": "stretch_width",
            "stylesheets": [INVALID_CSS],
        }
        widget = field.display.widget
        if widget == "textarea":
            return pn.widgets.TextAreaInput(max_length=field.max_length or 2000, height=80, **common)
        if widget == "autocomplete":
            return pn.widgets.AutocompleteInput(
                options=self._suggestions(field),
                restrict=False,
                min_characters=1,
                case_sensitive=False,
                search_strategy="includes",
                **common,
            )
        return pn.widgets.TextInput(
            placeholder=PLACEHOLDERS.get(field.kind, ""), max_length=field.max_length or 50, **common
        )

    def _suggestions(self, field: Field) -> list[str]:
        source = field.display.suggestions
        if source in MODEL_SUGGESTIONS:
            return list(getattr(self.model, source))
        try:
            return self.model.inventory.distinct_values(field.name)
        except InventoryError:
            return []

    # -- loading --------------------------------------------------------------------------------------------------

    def load(self, item: dict[str, Any] | None) -> None:
        """Fill the form from ``item`` (as stored) or empty it for a new item; clears messages."""
        self._conflict = None
        self.banner.clear()
        self.mark_invalid(())
        self.overwrite_button.visible = False
        values = {name: as_text(item.get(name)) if item else "" for name in self.inputs}
        self._loaded = values
        for name, widget in self.inputs.items():
            widget.param.update(value=values[name], value_input=values[name])
        self.param.update(
            item_id=None if item is None else int(item["id"]), version=None if item is None else int(item["version"])
        )
        self.save_button.label = "Add item" if item is None else "Save changes"
        self.revert_button.label = "Clear" if item is None else "Discard changes"
        self._refresh_permissions()

    def reload(self) -> None:
        """Discard the person's edits: the stored values (or an empty form when adding)."""
        if self.item_id is None:
            self.load(None)
            return
        try:
            self.load(self.model.inventory.get(self.item_id))
        except NotFoundError as exc:
            self._gone(exc)
        except Exception as exc:  # noqa: BLE001 - one sentence for the person, the details in the log
            report_error("Loading the item", exc, beside=self.banner)

    @property
    def invalid(self) -> list[str]:
        """The fields marked as refused by the last save, in form order."""
        return [name for name, widget in self.inputs.items() if INVALID in widget.css_classes]

    def mark_invalid(self, names: Any) -> None:
        """Mark the inputs of ``names`` (the fields a save refused) and unmark every other."""
        marked = set(names)
        for name, widget in self.inputs.items():
            classes = [c for c in widget.css_classes if c != INVALID]
            widget.css_classes = [*classes, INVALID] if name in marked else classes

    def _unmark(self, name: str, _event: Any) -> None:
        widget = self.inputs[name]
        if INVALID in widget.css_classes:
            widget.css_classes = [c for c in widget.css_classes if c != INVALID]

    def _refresh_permissions(self) -> None:
        user = self.model.inventory.user
        allowed = user.can("add") if self.item_id is None else user.can("edit")
        for widget in self.inputs.values():
            widget.disabled = not allowed
        self.save_button.visible = self.revert_button.visible = allowed

    def values(self) -> dict[str, str]:
        """What the person typed, field by field (text; the service parses it)."""
        return {
            name: (widget.value_input if widget.value_input is not None else widget.value) or ""
            for name, widget in self.inputs.items()
        }

    @property
    def loaded(self) -> dict[str, str]:
        """The values as loaded (what a save compares against to find the changed fields)."""
        return dict(self._loaded)

    @property
    def dirty(self) -> bool:
        return self.values() != self._loaded

    @param.depends("model.data_version", watch=True)
    def _data_changed(self) -> None:
        for row in self._rows:
            for f in row:
                if f.display.suggestions in MODEL_SUGGESTIONS:
                    self.inputs[f.name].options = self._suggestions(f)
        if self.item_id is None or self._conflict is not None:
            return
        try:
            current = self.model.inventory.get(self.item_id)
        except NotFoundError as exc:
            self._gone(exc)
            return
        except Exception:  # noqa: BLE001 - a background refresh failing is logged; the form keeps its values
            return
        if current["version"] == self.version:
            return
        if not self.dirty:
            self.load(current)
            return
        self.banner.show(
            "info",
            f"{current['updated_by']} changed this item after you opened it.",
            ["Your unsaved changes are kept. Saving will show you both versions."],
        )

    def _gone(self, exc: NotFoundError) -> None:
        self.banner.show("error", str(exc), ["Nothing can be saved to it any more."])
        self.save_button.visible = False

    # -- saving ---------------------------------------------------------------------------------------------------

    async def _on_save(self, _event: Any) -> None:
        await self.save()

    async def _on_overwrite(self, _event: Any) -> None:
        await self.save(overwrite=True)

    async def save(self, overwrite: bool = False) -> bool:
        """Add or update from the form (written in a worker thread); returns True when something was saved."""
        if self._pending:
            return False
        inventory = self.model.inventory
        values = self.values()
        if self.item_id is None:
            write, message = partial(inventory.add, values), "Added {}."
        else:
            changes = {k: v for k, v in values.items() if v != self._loaded.get(k)}
            if not changes:
                notify("info", "Nothing to save: no field was changed.", beside=self.banner)
                return False
            version = self._conflict["version"] if overwrite and self._conflict else self.version
            write, message = partial(inventory.update, self.item_id, changes, version), "Saved {}."
        self._pending = self.save_button.loading = self.overwrite_button.loading = True
        try:
            item = await in_worker(write)
            message = message.format(item["item_name"])
        except ValidationError as exc:
            lines = error_lines(exc.errors, self.fields)
            self.banner.show("error", "Not saved. Correct the marked fields and save again:", lines)
            self.mark_invalid(name for name in exc.errors if name in self.inputs)
            notify("error", f"Not saved: {'; '.join(lines)}", shown=True)
            return False
        except DuplicateValueError as exc:  # a value another item has: that field is the one to change
            self.banner.show("error", f"Not saved: {exc}")
            self.mark_invalid([exc.field])
            notify("error", f"Not saved: {exc}", shown=True)
            return False
        except ConflictError as exc:
            self._show_conflict(exc, values)
            return False
        except NotFoundError as exc:
            self._gone(exc)
            notify("error", str(exc), shown=True)
            return False
        except Exception as exc:  # noqa: BLE001 - one sentence for the person, the details in the log
            report_error("Saving the item", exc, beside=self.banner)
            return False
        finally:
            self._pending = self.save_button.loading = self.overwrite_button.loading = False
        notify("success", message)
        self.load(item)
        self.model.changed()
        self.param.trigger("saved")
        return True

    def _show_conflict(self, exc: ConflictError, values: dict[str, str]) -> None:
        current = exc.current
        if current is None:  # changed while saving: nothing to compare, saving again is what to do
            report_error("Saving the item", exc, beside=self.banner)
            return
        self._conflict = current
        lines = [
            f"{f.label}: yours {values[f.name] or '(empty)'} · now {as_text(current.get(f.name)) or '(empty)'}"
            for row in self._rows
            for f in row
            if values[f.name] != as_text(current.get(f.name)) and values[f.name] != self._loaded.get(f.name)
        ]
        self.banner.show("warning", str(exc), lines)
        self.overwrite_button.visible = True
        self.revert_button.label = "Load their values"
        notify("warning", f"Not saved: {exc}", shown=True)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout
