"""`RecordFormatError`: a record set that cannot be read as its format
says (missing, damaged, or of another version)."""


class RecordFormatError(ValueError):
    """Records or metadata disagree with what the reader was asked for."""
