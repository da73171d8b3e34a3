"""The registry's pages. Fixed paths come before `<str:code>/` so they are never read as codes."""

from django.urls import path

from custguard.customers.views import customers, groups, imports, regions

app_name = "customers"
urlpatterns = [
    path("", customers.customer_list, name="list"),
    path("new/", customers.customer_create, name="create"),
    path("export/", customers.customer_export, name="export"),
    path("import/", imports.customer_import, name="import"),
    path("import/template/", imports.import_template, name="import_template"),
    path("regions/", regions.region_list, name="regions"),
    path("groups/", groups.group_list, name="groups"),
    path("groups/new/", groups.group_create, name="group_create"),
    path("groups/<int:pk>/", groups.group_detail, name="group_detail"),
    path("groups/<int:pk>/edit/", groups.group_edit, name="group_edit"),
    path("groups/<int:pk>/members/add/", groups.group_member_add, name="group_member_add"),
    path("groups/<int:pk>/members/<str:code>/remove/", groups.group_member_remove,
         name="group_member_remove"),
    path("<str:code>/", customers.customer_detail, name="detail"),
    path("<str:code>/edit/", customers.customer_edit, name="edit"),
    path("<str:code>/contacts/add/", customers.contact_add, name="contact_add"),
    path("<str:code>/contacts/<int:contact_id>/edit/", customers.contact_edit,
         name="contact_edit"),
    path("<str:code>/contacts/<int:contact_id>/delete/", customers.contact_delete,
         name="contact_delete"),
]
