"""Tasks, the agency's unit of work, and the comments that discuss them."""
