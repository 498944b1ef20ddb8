"""The model: the per-file facts joined into the deployment graph (link, graph) and the
queries rules make of it. Rules import this layer, never the parsers."""
