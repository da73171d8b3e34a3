from django.urls import path

from custguard.core.views import audit, policies, tokens

app_name = "core"
urlpatterns = [
    path("audit/", audit.audit_log, name="audit"),
    path("audit/export/", audit.audit_export, name="audit_export"),
    path("audit/<int:seq>/", audit.audit_entry, name="audit_entry"),
    path("tokens/", tokens.token_list, name="tokens"),
    path("tokens/<int:token_id>/revoke/", tokens.token_revoke, name="token_revoke"),
    path("policies/", policies.policy_list, name="policies"),
    path("policies/new/", policies.policy_upload, name="policy_upload"),
    path("policies/diff/", policies.policy_diff, name="policy_diff"),
    path("policies/<int:number>/", policies.policy_detail, name="policy_detail"),
    path("policies/<int:number>/publish/", policies.policy_publish, name="policy_publish"),
]
