"""Output formats. Formatters know findings and rule metadata, nothing else."""
