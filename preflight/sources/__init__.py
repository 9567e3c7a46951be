"""One module per file kind: parse the file once and turn it into facts (see preflight.extract)."""
