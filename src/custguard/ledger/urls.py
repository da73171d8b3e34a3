"""The ledger's pages: invoices, payments and orders (lists, exports), the invoice page and the
import."""

from django.urls import path

from custguard.ledger.views import imports, lists

app_name = "ledger"
urlpatterns = [
    path("invoices/", lists.invoice_list, name="invoices"),
    path("invoices/export/", lists.invoice_export, name="invoice_export"),
    path("invoices/<int:pk>/", lists.invoice_detail, name="invoice_detail"),
    path("payments/", lists.payment_list, name="payments"),
    path("payments/export/", lists.payment_export, name="payment_export"),
    path("orders/", lists.order_list, name="orders"),
    path("orders/export/", lists.order_export, name="order_export"),
    path("import/", imports.fact_import, name="import"),
    path("import/template/", imports.import_template, name="import_template"),
]
