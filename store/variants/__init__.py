"""Products with variants: options, the variants they make, their removal (docs/decisions/0017)."""
