"""The registry's HTML UI, one module per aggregate; customers/urls.py maps them."""
