"""Notices (通知客户): the letter that tells a customer what was found, the evidence, the
measures and their period, how to rectify, and how and by when to respond or appeal.

Rendered from the template conduct/notice/letter.html in the chosen language (zh-hans or en)
under the policy version that decided the penalty, kept as HTML and as a PDF (reportlab's
built-in STSong-Light CID font carries the Chinese text, so nothing is downloaded), and
e-mailed to the customer's primary contact through Django's e-mail backend once the
transaction commits (a rolled-back approval sends nothing). The outcome of the delivery is
recorded on the notice and in the audit chain. A customer without an e-mail address gets the
notice by post: the PDF is ready on the notice's page, and once an address has been added the
e-mail can be sent again (`resend`).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import logging
import re
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from custguard.conduct.labels import measure_labels
from custguard.conduct.models import Notice, Penalty
from custguard.conduct.services.common import reason_text, require, today
from custguard.core import clock
from custguard.core.actors import Actor
from custguard.core.errors import Conflict, ValidationFailed
from custguard.core.services import audit
from custguard.policy.codes import Measure
from custguard.policy.conduct import appeal_deadline, response_due
from custguard.policy.schema import PolicyDocument

logger = logging.getLogger(__name__)

LANGUAGES = ("zh-hans", "en")
CJK_FONT = "STSong-Light"
TEMPLATE = "conduct/notice/letter.html"
# The letter's content sits between these markers, so a page can show it without the
# document's <head> (see `letter_fragment`).
LETTER_START = "<!-- letter -->"
LETTER_END = "<!-- /letter -->"
MAX_ERROR = 2000


# --- rendering ----------------------------------------------------------------------------


def document_of(version: int) -> PolicyDocument:
    """The policy document of a version number (what decided the penalty)."""
    from custguard.core.models import PolicyVersion
    from custguard.core.services import policies

    checksum = PolicyVersion.objects.values_list("checksum", flat=True).get(number=version)
    return policies.document_of(version, checksum)  # parsed once per process


def company_name() -> str:
    return (getattr(settings, "CUSTGUARD_COMPANY_NAME", "") or
            _("Customer Credit Management Department"))


def recipient_of(penalty: Penalty) -> tuple[str, str]:
    """(e-mail address, contact name) of the contact the notice goes to: the primary contact
    with an address, else the first contact with one."""
    contact = (penalty.customer.contacts.exclude(email="").order_by("-is_primary", "pk")
               .first())
    return (contact.email, contact.name) if contact is not None else ("", "")


def _addressee(penalty: Penalty) -> str:
    contact = penalty.customer.contacts.order_by("-is_primary", "pk").first()
    return contact.name if contact is not None else ""


def _context(penalty: Penalty, language: str, *, reference: str = "",
             issued_on: dt.date | None = None) -> dict[str, Any]:
    document = document_of(penalty.policy_version)
    case = penalty.case
    english = language == "en"
    try:
        kind = document.violation_type(case.violation_type)
        violation = kind.description_en if english else kind.description_zh
    except KeyError:
        violation = case.violation_type
    try:
        step_doc = document.penalty_step(penalty.step_code)
        step = step_doc.description_en if english else step_doc.description_zh
    except KeyError:
        step = ""
    start = issued_on or today()
    end = (start + dt.timedelta(days=penalty.duration_days)
           if penalty.duration_days is not None else None)
    measures = set(penalty.measures)
    evidence = list(case.evidence.all())
    manager = penalty.customer.account_manager
    return {
        "penalty": penalty, "case": case, "customer": penalty.customer,
        "violation": violation,
        "step": step,
        "measures": measure_labels(penalty.measures),
        "evidence": evidence,
        "evidence_total": sum((item.size for item in evidence), 0),
        "starts_on": start, "ends_on": end,
        "rectify_by": (start + dt.timedelta(days=penalty.rectification_days)
                       if penalty.rectification_days else None),
        "respond_by": response_due(document, start),
        "appeal_by": appeal_deadline(document, start),
        "policy_version": penalty.policy_version,
        "reference": reference,
        "issued_on": start,
        "company": company_name(),
        "currency": settings.CUSTGUARD_CURRENCY,
        "addressee": _addressee(penalty),
        "account_manager": (manager.display_name or manager.get_username()) if manager else "",
        "account_manager_email": manager.email if manager is not None else "",
        "fine": penalty.fine_amount if Measure.FINE in measures
        and penalty.fine_amount > 0 else None,
        "points": penalty.points_deduction if Measure.POINTS_DEDUCTION in measures
        and penalty.points_deduction else None,
        "limit_percent": penalty.credit_limit_percent
        if Measure.CREDIT_LIMIT_REDUCTION in measures else None,
        "blacklist_proposed": Measure.BLACKLIST_PROPOSAL in measures,
        "measure_lines": _measure_lines(penalty, start, document),
        "language": language,
    }


def _measure_lines(penalty: Penalty, start: dt.date, document: PolicyDocument) -> list[str]:
    """Each measure in words, with its amount where it has one (in the active language)."""
    from django.utils import formats

    lines = []
    for code, label in zip(penalty.measures, measure_labels(penalty.measures), strict=True):
        if code == Measure.FINE and penalty.fine_amount > 0:
            lines.append(_("Fine: %(amount)s %(currency)s, payable by %(day)s") % {
                "amount": formats.number_format(penalty.fine_amount, 2, use_l10n=True,
                                                force_grouping=True),
                "currency": settings.CUSTGUARD_CURRENCY,
                "day": response_due(document, start).isoformat()})
        elif code == Measure.POINTS_DEDUCTION and penalty.points_deduction:
            lines.append(_("Points deducted: %(points)s") % {"points": penalty.points_deduction})
        elif code == Measure.CREDIT_LIMIT_REDUCTION:
            lines.append(_("Credit limit reduced to %(percent)s%% of the limit you would "
                           "otherwise have while the measures apply") % {
                "percent": f"{penalty.credit_limit_percent.normalize():f}"})
        else:
            lines.append(str(label))
    return lines


def render(penalty: Penalty, language: str, *, reference: str = "",
           issued_on: dt.date | None = None) -> tuple[str, str]:
    """(subject, HTML letter) in the language."""
    if language not in LANGUAGES:
        raise ValidationFailed(_("a notice is written in Chinese (zh-hans) or English (en)"),
                               field="language")
    with translation.override(language):
        context = _context(penalty, language, reference=reference, issued_on=issued_on)
        subject = _("Notice of measures taken: %(customer)s (%(code)s)") % {
            "customer": penalty.customer.name, "code": penalty.customer.code}
        body = render_to_string(TEMPLATE, context | {"subject": subject,
                                                     "LANGUAGE_CODE": language})
    return subject, body


def letter_fragment(body_html: str) -> str:
    """The letter's content without the HTML document around it (for showing it on a page).
    The body is our own rendering, so the markers are always there; an older body falls back
    to what lies inside <body>."""
    start, end = body_html.find(LETTER_START), body_html.rfind(LETTER_END)
    if start != -1 and end > start:
        return body_html[start + len(LETTER_START):end]
    found = re.search(r"<body[^>]*>(.*)</body>", body_html, re.S | re.I)
    return found.group(1) if found else body_html


# --- the PDF ------------------------------------------------------------------------------


@dataclass
class Block:
    """A block of the letter: a heading, a paragraph, a list item or a table."""

    tag: str
    text: str = ""
    align: str = ""
    rows: list[list[str]] = field(default_factory=list)


class _LetterParser(HTMLParser):
    """Turns the letter's HTML (a small, known subset) into blocks for the PDF and the plain
    text e-mail part. Tags outside the subset contribute their text to the enclosing block."""

    BLOCKS = ("h1", "h2", "h3", "p", "li")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._current: Block | None = None
        self._table: Block | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._skip = 0  # inside <head>, <style>, <title>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag in ("head", "style", "title", "script"):
            self._skip += 1
        elif tag == "table":
            self._table = Block("table")
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "br":
            self._text("\n")
        elif tag in self.BLOCKS:
            align = "right" if "right" in classes else "center" if "center" in classes else ""
            self._current = Block(tag, align=align)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "style", "title", "script"):
            self._skip = max(0, self._skip - 1)
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(_squash("".join(self._cell)))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if any(self._row):
                self._table.rows.append(self._row)
            self._row = None
        elif tag == "table" and self._table is not None:
            if self._table.rows:
                self.blocks.append(self._table)
            self._table = None
        elif tag in self.BLOCKS and self._current is not None:
            self._current.text = _squash(self._current.text)
            if self._current.text:
                self.blocks.append(self._current)
            self._current = None

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._text(data)

    def _text(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._current is not None:
            self._current.text += data


def _squash(text: str) -> str:
    """Runs of white space as one space; explicit line breaks kept."""
    lines = [re.sub(r"\s+", " ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def blocks_of(body_html: str) -> list[Block]:
    parser = _LetterParser()
    parser.feed(body_html)
    parser.close()
    return parser.blocks


def plain_text(body_html: str) -> str:
    """The letter as plain text (the e-mail's text part)."""
    out: list[str] = []
    for block in blocks_of(body_html):
        if block.tag == "table":
            out.append("\n".join("  ".join(cell for cell in row if cell)
                                 for row in block.rows))
        elif block.tag == "li":
            out.append(f"  - {block.text}")
        elif block.tag in ("h1", "h2", "h3"):
            out.append(f"\n{block.text}")
        else:
            out.append(block.text)
    return "\n".join(out).strip() + "\n"


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def pdf_bytes(subject: str, body_html: str, *, reference: str = "") -> bytes:
    """The letter as an A4 PDF with the Chinese CID font built into reportlab: headings,
    paragraphs, list items and the key facts table, and a footer with the reference and the
    page number on every page."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    _register_font()
    base = ParagraphStyle("body", fontName=CJK_FONT, fontSize=10.5, leading=16,
                          wordWrap="CJK", spaceAfter=4)
    styles = {
        "h1": ParagraphStyle("h1", parent=base, fontSize=16, leading=22, spaceAfter=10,
                             alignment=TA_CENTER),
        "h2": ParagraphStyle("h2", parent=base, fontSize=12, leading=18, spaceBefore=8,
                             spaceAfter=4),
        "h3": ParagraphStyle("h3", parent=base, fontSize=11, leading=16, spaceBefore=4),
        "p": base,
        "li": ParagraphStyle("li", parent=base, leftIndent=14, bulletIndent=4, spaceAfter=2),
        "cell": ParagraphStyle("cell", parent=base, spaceAfter=0),
    }
    aligned = {"right": TA_RIGHT, "center": TA_CENTER}

    def para(text: str, style: ParagraphStyle, **kwargs: Any) -> Paragraph:
        return Paragraph(html.escape(text).replace("\n", "<br/>"), style, **kwargs)

    flow: list[Any] = []
    for block in blocks_of(body_html):
        if block.tag == "table":
            width = max(len(row) for row in block.rows)
            rows = [[para(cell, styles["cell"]) for cell in row]
                    + [""] * (width - len(row)) for row in block.rows]
            table = Table(rows, colWidths=[42 * mm, None][:width] if width == 2 else None,
                          hAlign="LEFT")
            table.setStyle(TableStyle([
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
            ]))
            flow.append(table)
            flow.append(Spacer(1, 6))
            continue
        style = styles[block.tag]
        if block.align in aligned:
            style = ParagraphStyle(f"{block.tag}-{block.align}", parent=style,
                                   alignment=aligned[block.align])
        flow.append(para(block.text, style, bulletText="•" if block.tag == "li" else None))

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(CJK_FONT, 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(22 * mm, 12 * mm, reference)
        canvas.drawRightString(A4[0] - 22 * mm, 12 * mm, str(doc.page))
        canvas.restoreState()

    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(buffer, pagesize=A4, title=subject, author=company_name(),
                            subject=reference, leftMargin=22 * mm, rightMargin=22 * mm,
                            topMargin=20 * mm, bottomMargin=22 * mm)
    pdf.build(flow, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


# --- issuing and delivering -----------------------------------------------------------------


def _reference() -> str:
    return f"N{timezone.localdate(clock.now()):%Y%m%d}-{secrets.token_hex(4).upper()}"


def issue(actor: Actor, penalty: Penalty, *, language: str = "zh-hans") -> Notice:
    """Write the notice of an approved penalty (inside the approval's transaction) and send it
    by e-mail once the transaction commits."""
    if language not in LANGUAGES:
        raise ValidationFailed(_("a notice is written in Chinese (zh-hans) or English (en)"),
                               field="language")
    document = document_of(penalty.policy_version)
    day = today()
    recipient, _name = recipient_of(penalty)
    for attempt in range(5):  # a reference is random: a clash is retried, never seen
        reference = _reference()
        subject, body = render(penalty, language, reference=reference, issued_on=day)
        notice = Notice(
            penalty=penalty, customer_id=penalty.customer_id, language=language,
            reference=reference, subject=subject[:300], body_html=body, recipient=recipient,
            created_at=clock.now(),
            delivery=Notice.Delivery.PENDING if recipient else Notice.Delivery.NO_ADDRESS,
            response_due_on=response_due(document, day),
            appeal_deadline=appeal_deadline(document, day))
        notice.pdf.save(f"{reference}.pdf",
                        ContentFile(pdf_bytes(subject, body, reference=reference)), save=False)
        try:
            with transaction.atomic():
                notice.save()
            break
        except IntegrityError:
            notice.pdf.delete(save=False)
            if attempt == 4:
                raise
    audit.record(actor, "conduct.notice_issue", notice, customer_id=penalty.customer_id,
                 after={"penalty": penalty.pk, "reference": reference, "language": language,
                        "recipient": recipient, "delivery": notice.delivery,
                        "respond_by": notice.response_due_on,
                        "appeal_by": notice.appeal_deadline})
    if recipient:
        _send_after_commit(actor, notice.pk)
    return notice


def _send_after_commit(actor: Actor, notice_id: int) -> None:
    """Queue the e-mail on the task queue once the notice is committed: a slow or failing mail
    server never holds up the approval, and the worker records the outcome."""
    from custguard.conduct.tasks import deliver_notice

    transaction.on_commit(lambda: deliver_notice.enqueue(notice_id), robust=True)


def _message(notice: Notice) -> EmailMultiAlternatives:
    customer = notice.customer
    manager = customer.account_manager
    message = EmailMultiAlternatives(
        subject=notice.subject, body=plain_text(notice.body_html), to=[notice.recipient],
        reply_to=[manager.email] if manager is not None and manager.email else None,
        headers={"X-Custguard-Notice": notice.reference})
    message.attach_alternative(notice.body_html, "text/html")
    with notice.pdf.open("rb") as stored:
        message.attach(f"{notice.reference}.pdf", stored.read(), "application/pdf")
    return message


def deliver(actor: Actor, notice_id: int) -> Notice:
    """Send a notice by e-mail now (runs after the issuing transaction committed) and record
    the outcome on the notice and in the audit chain. A failure is recorded, never raised:
    the notice stays on record and can be sent again."""
    notice = Notice.objects.select_related("customer", "customer__account_manager").get(
        pk=notice_id)
    error = ""
    try:
        _message(notice).send()
    except Exception as failure:  # noqa: BLE001 - any delivery failure is recorded, not lost
        error = (f"{type(failure).__name__}: {failure}")[:MAX_ERROR]
        logger.warning("notice %s: e-mail to %s failed: %s", notice.reference,
                       notice.recipient, error)
    with audit.deferred_transaction():
        if error:
            Notice.objects.filter(pk=notice_id).update(delivery=Notice.Delivery.FAILED,
                                                       delivered_at=None,
                                                       delivery_error=error)
            audit.record(actor, "conduct.notice_failed", notice, customer_id=notice.customer_id,
                         after={"reference": notice.reference, "recipient": notice.recipient,
                                "delivery": Notice.Delivery.FAILED, "error": error})
        else:
            Notice.objects.filter(pk=notice_id).update(delivery=Notice.Delivery.SENT,
                                                       delivered_at=clock.now(),
                                                       delivery_error="")
            audit.record(actor, "conduct.notice_sent", notice, customer_id=notice.customer_id,
                         after={"reference": notice.reference, "recipient": notice.recipient,
                                "delivery": Notice.Delivery.SENT})
    return Notice.objects.get(pk=notice_id)


def resend(actor: Actor, notice: Notice) -> Notice:
    """Send a notice whose e-mail failed, or that went by post for want of an address, to the
    customer's contact address as it is now (after one was added or corrected). The e-mail
    goes out once the transaction commits."""
    require(actor, "conduct.record_response")
    penalty = Penalty.objects.select_related("customer").get(pk=notice.penalty_id)
    recipient, _name = recipient_of(penalty)
    if not recipient:
        raise ValidationFailed(_("the customer has no contact with an e-mail address: add one "
                                 "first"), field="recipient")
    with audit.deferred_transaction():
        previous = Notice.objects.filter(pk=notice.pk).values_list("delivery", "recipient")
        delivery, old_recipient = previous.get()
        updated = Notice.objects.filter(
            pk=notice.pk, delivery__in=[Notice.Delivery.FAILED, Notice.Delivery.NO_ADDRESS],
        ).update(delivery=Notice.Delivery.PENDING, recipient=recipient, delivered_at=None,
                 delivery_error="")
        if not updated:
            raise Conflict(_("this notice was sent by e-mail already"), field="delivery")
        audit.record(actor, "conduct.notice_resend", notice, customer_id=notice.customer_id,
                     before={"delivery": delivery, "recipient": old_recipient},
                     after={"delivery": Notice.Delivery.PENDING, "recipient": recipient})
        _send_after_commit(actor, notice.pk)
    return Notice.objects.get(pk=notice.pk)


# --- the customer's response ----------------------------------------------------------------


def record_response(actor: Actor, notice: Notice, *, response: str,
                    responded_at: dt.datetime | None = None) -> Notice:
    """The customer's answer to a notice, once, with the time it was received (now unless
    given: a letter that came by post is recorded with the day it arrived)."""
    require(actor, "conduct.record_response")
    text = reason_text(response, "response")
    now = clock.now()
    when = responded_at or now
    if timezone.is_naive(when):
        raise ValidationFailed(_("give the time with its time zone"), field="responded_at")
    if when > now:
        raise ValidationFailed(_("the response cannot be received in the future"),
                               field="responded_at")
    if when < notice.created_at:
        raise ValidationFailed(_("the response cannot precede the notice (%(day)s)") % {
            "day": timezone.localtime(notice.created_at).strftime("%Y-%m-%d %H:%M")},
            field="responded_at")
    late = timezone.localdate(when) > notice.response_due_on
    with audit.deferred_transaction():
        updated = Notice.objects.filter(pk=notice.pk, responded_at__isnull=True).update(
            responded_at=when, response=text, response_recorded_by=actor.label[:150])
        if not updated:
            raise Conflict(_("the customer's response is already recorded"), field="response")
        audit.record(actor, "conduct.notice_response", notice, customer_id=notice.customer_id,
                     after={"reference": notice.reference, "response": text,
                            "responded_at": when, "late": late})
    return Notice.objects.get(pk=notice.pk)


def is_overdue(notice: Notice, on: dt.date | None = None) -> bool:
    """No response recorded and the day to respond has passed."""
    return notice.responded_at is None and notice.response_due_on < (on or today())


def responded_late(notice: Notice) -> bool:
    return (notice.responded_at is not None
            and timezone.localdate(notice.responded_at) > notice.response_due_on)
