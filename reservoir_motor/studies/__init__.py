"""Studies over many runs: sweeps (``sweep``, with shared prefixes from ``prefix``), reports of a results
directory (``report``, ``gather`` into pandas and xarray), closed-loop stability and activity analysis."""
