"""Bulk "Add tags" / "Remove tags" on the product list: store's bulk edits, tags' rows.

Carried by store_custom's StoreExtension (``store_custom.extension``); store's bulk service
bumps each changed product's version and writes its history row, this only reads and
writes tag rows.
"""

from __future__ import annotations

from django import forms
from django.contrib.contenttypes.models import ContentType

from store.bulk.actions import CHANGE, UNCHANGED, BulkAction, BulkActionForm, Outcome
from store.models import Product
from store_custom import selectors
from store_custom.importing import product_tags_column
from tags.models import Tag, TaggedItem


class TagsForm(BulkActionForm):
    labels = forms.CharField(label="Tags", max_length=1000, help_text="Tag labels separated by commas.")

    def clean_labels(self):
        labels = product_tags_column.parse(self.cleaned_data["labels"])
        if not labels:
            raise forms.ValidationError("Enter at least one tag.")
        return labels


class TagsAction(BulkAction):
    column = "tags"
    form_class = TagsForm

    def __init__(self, *, add: bool):
        self.add = add
        self.name = "add_tags" if add else "remove_tags"
        self.label = "Add tags…" if add else "Remove tags…"
        self.required_perms = ("tags.add_tag", "tags.add_taggeditem") if add else ("tags.delete_taggeditem",)

    def parameters(self, cleaned_data):
        return {"labels": list(cleaned_data["labels"])}

    def describe(self, parameters):
        return f"{'add' if self.add else 'remove'} tags {', '.join(parameters['labels'])}"

    def evaluate(self, products, parameters):
        current = selectors.product_tag_labels(product_ids=[product.pk for product in products])
        wanted = {label.casefold(): label for label in parameters["labels"]}
        outcomes = []
        for product in products:
            before = {label.casefold(): label for label in current[product.pk]}
            if self.add:
                after = {**before, **{key: label for key, label in wanted.items() if key not in before}}
            else:
                after = {key: label for key, label in before.items() if key not in wanted}
            outcomes.append(
                Outcome(
                    product,
                    UNCHANGED if after.keys() == before.keys() else CHANGE,
                    old=", ".join(sorted(before.values(), key=str.casefold)) or "—",
                    new=", ".join(sorted(after.values(), key=str.casefold)) or "—",
                )
            )
        return outcomes

    def write(self, changes, parameters):
        content_type = ContentType.objects.get_for_model(Product)
        ids = [change.product.pk for change in changes]
        keys = {label.casefold() for label in parameters["labels"]}
        if self.add:
            Tag.objects.bulk_create([Tag(label=label) for label in parameters["labels"]], ignore_conflicts=True)
            tag_ids = [
                pk
                for pk, label in Tag.objects.filter(label__in=parameters["labels"]).values_list("pk", "label")
                if label.casefold() in keys
            ]
            TaggedItem.objects.bulk_create(
                [
                    TaggedItem(tag_id=tag_id, content_type=content_type, object_id=pk)
                    for pk in ids
                    for tag_id in tag_ids
                ],
                batch_size=1000,
                ignore_conflicts=True,
            )
        else:
            TaggedItem.objects.filter(
                content_type=content_type, object_id__in=ids, tag__label__in=parameters["labels"]
            ).delete()


add_tags = TagsAction(add=True)
remove_tags = TagsAction(add=False)
