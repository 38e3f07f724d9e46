"""Product search: the one definition of what a search finds, and the index that serves it.

``terms`` says how text becomes search terms (one function for products and for what people
type), ``services`` keeps the index (``ProductSearchTerm`` rows) in step with the products,
``selectors`` turns a search into a product queryset ranked best first. Every product list
searches through ``selectors.product_search``: the admin's changelists and autocompletes, the
exports and bulk edits of a filtered list (they rebuild the changelist) and the API's
``?search=``.
"""
