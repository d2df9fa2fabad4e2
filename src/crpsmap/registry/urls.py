"""URL map of the registry. `/healthz` and `/login/` are contracts that outside scripts rely on."""

from django.urls import include, path

from crpsmap.registry.views import (
    account,
    audit,
    auth,
    dashboard,
    events,
    otp,
    patients,
    transfer,
    users,
    visits,
)

urlpatterns = [
    path("", include("crpsmap.registry.api.urls")),  # /api/... and the admins' token pages
    path("", auth.home, name="home"),
    path("healthz", auth.healthz, name="healthz"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("account/second-factor/", otp.enrol, name="otp_enrol"),
    path("account/sessions/", account.own_sessions, name="own_sessions"),
    path("patients/", patients.patient_list, name="patient_list"),
    path("patients/new/", patients.patient_create, name="patient_create"),
    path("patients/<str:code>/", patients.patient_page, name="patient_page"),
    path("patients/<str:code>/edit/", patients.patient_edit, name="patient_edit"),
    path("patients/<str:code>/identity/", patients.identity_edit, name="identity_edit"),
    path("patients/<str:code>/visits/new/", visits.visit_create, name="visit_create"),
    path("patients/<str:code>/visits/<int:pk>/edit/", visits.visit_edit, name="visit_edit"),
    path("patients/<str:code>/visits/<int:pk>/sign/", visits.visit_sign, name="visit_sign"),
    path("patients/<str:code>/events/new/", events.event_create, name="event_create"),
    path("patients/<str:code>/events/<int:pk>/edit/", events.event_edit, name="event_edit"),
    path("patients/<str:code>/treatments/new/", events.treatment_create, name="treatment_create"),
    path("patients/<str:code>/treatments/<int:pk>/edit/", events.treatment_edit, name="treatment_edit"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/report/", dashboard.report, name="dashboard_report"),
    path("import/", transfer.import_csv, name="import"),
    path("export/", transfer.export_page, name="export"),
    path("export/cohort.csv", transfer.export_csv, name="export_csv"),
    path("export/identity.csv", transfer.export_identity, name="export_identity"),
    path("export/redcap.csv", transfer.export_redcap, name="export_redcap"),
    path("export/bundle.fhir.json", transfer.export_fhir, name="export_fhir"),
    path("export/redcap-dictionary.csv", transfer.export_redcap_dictionary, name="export_redcap_dictionary"),
    path("audit/", audit.audit_trail, name="audit"),
    path("audit/export.csv", audit.audit_export, name="audit_export"),
    path("users/", users.user_list, name="user_list"),
    path("users/new/", users.user_create, name="user_create"),
    path("users/<int:pk>/", users.user_edit, name="user_edit"),
    path("users/security/", otp.security_policy, name="security_policy"),
]

handler403 = "crpsmap.registry.views.auth.forbidden"
handler404 = "crpsmap.registry.views.auth.not_found"
