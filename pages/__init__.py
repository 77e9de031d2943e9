"""Page logic for the book: what a page's exec blocks print, in linted, tested modules.

The package mirrors docs/: `pages/ch1/gc.py` belongs to `docs/ch1/gc.md`. A page whose name is a
Python keyword gets a trailing underscore (PEP 8's convention for that clash): `docs/ch2/async.md`
↔ `pages/ch2/async_.py`. Each public function returns Markdown built only from measured results
(through `perflab.book`); an exec block only imports the module and prints one call.
"""
