"""Views, one module per page group; each view names its action for `roles.require`."""
