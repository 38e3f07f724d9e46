// Drag-to-reorder for the product images inline: drag a row by its thumbnail and the
// position inputs are renumbered 0, 1, 2… in the new order (saved with the form).
// Without JavaScript the position inputs work as before.
"use strict";
(function () {
    function rows(tbody) {
        return Array.from(tbody.querySelectorAll("tr.form-row.has_original"));
    }

    function renumber(tbody) {
        rows(tbody).forEach(function (row, index) {
            const input = row.querySelector("td.field-position input");
            if (input && input.value !== String(index)) {
                input.value = String(index);
                input.dispatchEvent(new Event("change", {bubbles: true}));
            }
        });
    }

    function setUp(group) {
        const tbody = group.querySelector("tbody");
        if (!tbody) {
            return;
        }
        let dragged = null;
        rows(tbody).forEach(function (row) {
            const handle = row.querySelector("td.field-preview");
            if (!handle) {
                return;
            }
            row.draggable = true;
            handle.classList.add("image-drag-handle");
            handle.title = "Drag to reorder";
            row.addEventListener("dragstart", function (event) {
                dragged = row;
                row.classList.add("image-dragging");
                event.dataTransfer.effectAllowed = "move";
                event.dataTransfer.setData("text/plain", row.id);
            });
            row.addEventListener("dragend", function () {
                row.classList.remove("image-dragging");
                dragged = null;
            });
            row.addEventListener("dragover", function (event) {
                if (dragged && dragged !== row) {
                    event.preventDefault();
                    event.dataTransfer.dropEffect = "move";
                }
            });
            row.addEventListener("drop", function (event) {
                if (!dragged || dragged === row) {
                    return;
                }
                event.preventDefault();
                const all = rows(tbody);
                const after = all.indexOf(dragged) < all.indexOf(row);
                tbody.insertBefore(dragged, after ? row.nextSibling : row);
                renumber(tbody);
            });
        });
    }

    document.addEventListener("DOMContentLoaded", function () {
        document.querySelectorAll("#images-group").forEach(setUp);
    });
})();
