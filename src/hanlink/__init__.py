"""hanlink: data quality and deduplication for Chinese customer records."""

__version__ = "0.1.0"
