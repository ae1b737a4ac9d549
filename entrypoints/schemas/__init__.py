"""Request shapes (attrs classes cattrs structures into) and the presenters of each resource."""
