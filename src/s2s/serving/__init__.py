"""`s2s serve`: translation over HTTP (a JSON API and a web page with the attention map), concurrent requests batched."""
