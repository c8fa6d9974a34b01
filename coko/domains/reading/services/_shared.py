"""What every reading use case shares."""

DB = "reading"
