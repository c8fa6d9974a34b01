"""Receipts as PDF documents (fpdf2, with the DejaVu fonts Coko ships in ``coko/platform/fonts``:
French typography — ’, narrow no-break spaces, € — prints as written)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF

import coko.platform

FONTS = Path(coko.platform.__file__).parent / "fonts"

LABELS = {
    "fr": {"title": "Reçu", "number": "Reçu n°", "date": "Date", "item": "Achat", "amount": "Montant payé",
           "provider": "Moyen de paiement", "order": "Commande", "thanks": "Merci de lire avec Coko.",
           "seller": "Coko — plateforme de lecture"},
    "en": {"title": "Receipt", "number": "Receipt no.", "date": "Date", "item": "Item", "amount": "Amount paid",
           "provider": "Paid with", "order": "Order", "thanks": "Thank you for reading with Coko.",
           "seller": "Coko — a reading platform"},
}
PROVIDERS = {"orange_money": "Orange Money", "wave": "Wave", "stripe": {"fr": "Carte bancaire", "en": "Card"}}


@dataclass(frozen=True)
class ReceiptDocument:
    """What a receipt shows, already in its language."""

    number: str
    language: str
    issued_at: datetime
    item: str
    amount: str  # as the reader reads it: 1 500 FCFA
    provider: str
    order_id: str


def provider_name(provider: str, language: str) -> str:
    name = PROVIDERS.get(provider, provider)
    return name[language] if isinstance(name, dict) else name


def receipt_pdf(document: ReceiptDocument) -> bytes:
    """One A4 page: the seller, the receipt's number and date, what was bought, for how much."""
    labels = LABELS.get(document.language, LABELS["en"])
    pdf = FPDF(format="A4")
    pdf.set_creator("Coko")
    pdf.set_title(f"{labels['title']} {document.number}")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 20)
    pdf.cell(0, 12, labels["seller"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 12, f"{labels['title']} {document.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    rows = [(labels["number"], document.number), (labels["date"], f"{document.issued_at:%Y-%m-%d %H:%M} UTC"),
            (labels["item"], document.item), (labels["amount"], document.amount),
            (labels["provider"], provider_name(document.provider, document.language)),
            (labels["order"], document.order_id)]
    for label, value in rows:
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(55, 9, label)
        pdf.set_font("DejaVu", "", 11)
        pdf.multi_cell(0, 9, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(0, 8, labels["thanks"], new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
