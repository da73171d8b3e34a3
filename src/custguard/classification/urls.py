"""The classification pages: the approvals inbox, the reminders, the monthly report, the ABC
migration across months and a customer's class. Fixed paths come before `<...>/` ones."""

from django.urls import path

from custguard.classification.views import customer, migration, proposals, reminders, report

app_name = "classification"
urlpatterns = [
    path("proposals/", proposals.proposal_list, name="proposals"),
    path("proposals/approve/", proposals.bulk_approve, name="bulk_approve"),
    path("proposals/<int:proposal_id>/", proposals.proposal_detail, name="proposal"),
    path("proposals/<int:proposal_id>/approve/", proposals.proposal_approve,
         name="proposal_approve"),
    path("proposals/<int:proposal_id>/reject/", proposals.proposal_reject,
         name="proposal_reject"),
    path("reminders/", reminders.reminder_list, name="reminders"),
    path("reminders/<int:reminder_id>/", reminders.reminder_detail, name="reminder"),
    path("reminders/<int:reminder_id>/answer/", reminders.reminder_answer,
         name="reminder_answer"),
    path("report/", report.report, name="report"),
    path("report/export/", report.report_export, name="report_export"),
    path("run/", report.run_now, name="run_now"),
    path("migration/", migration.migration, name="migration"),
    path("migration/export/", migration.migration_export, name="migration_export"),
    path("customers/<str:customer_code>/", customer.customer_class, name="customer"),
]
