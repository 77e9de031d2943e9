"""What connects the engine to the site builder (MkDocs, markdown-exec, mkdocs-jupyter).

The engine proper (perflab/*.py) never imports this package, so the command line and the
measurements run without MkDocs; hooks/ import from here.
"""
