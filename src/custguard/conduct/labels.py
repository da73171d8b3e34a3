"""Translated labels of the policy's conduct codes (the codes themselves stay in the data)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from custguard.policy.codes import Measure, Severity, ViolationCategory

MEASURES = {
    Measure.WARNING: _("Warning"),
    Measure.WRITTEN_REMINDER: _("Written reminder"),
    Measure.FINE: _("Fine"),
    Measure.POINTS_DEDUCTION: _("Points deduction"),
    Measure.POINTS_FREEZE: _("Points frozen"),
    Measure.CREDIT_LIMIT_REDUCTION: _("Credit limit reduced"),
    Measure.PREPAY_ONLY: _("Prepayment only"),
    Measure.ORDER_BLOCK: _("Orders blocked"),
    Measure.SERVICE_SUSPENSION: _("Supply and service suspended"),
    Measure.BLACKLIST_PROPOSAL: _("Blacklist entry proposed"),
    Measure.TERMINATION: _("Cooperation terminated"),
    Measure.LEGAL_REFERRAL: _("Referred to the legal department"),
}

SEVERITIES = {
    Severity.MINOR: _("Minor"),
    Severity.MAJOR: _("Major"),
    Severity.SEVERE: _("Severe"),
    Severity.CRITICAL: _("Critical"),
}

CATEGORIES = {
    ViolationCategory.PAYMENT_DEFAULT: _("Payment default"),
    ViolationCategory.CONTRACT_BREACH: _("Contract breach"),
    ViolationCategory.FRAUD: _("Fraud"),
    ViolationCategory.CROSS_REGION_SALES: _("Unauthorised cross-region selling"),
    ViolationCategory.PRICE_VIOLATION: _("Price violation"),
    ViolationCategory.SERVICE_ABUSE: _("Abuse of service"),
    ViolationCategory.MISCONDUCT: _("Misconduct"),
    ViolationCategory.IP_INFRINGEMENT: _("Trademark or brand misuse"),
    ViolationCategory.CONFIDENTIALITY: _("Breach of confidentiality"),
    ViolationCategory.BRIBERY: _("Bribery"),
    ViolationCategory.OTHER: _("Other"),
}


def measure_labels(codes: list[str]) -> list[str]:
    return [str(MEASURES.get(Measure(code), code)) for code in codes]
