"""The shipping address row; recipient, phone, street, house number and postal code encrypted."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, id_column, utcnow


class ShippingAddress(Base):
    """One address in a customer's address book."""

    __tablename__ = "shipping_address"

    id: Mapped[str] = id_column()
    customer_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    recipient_name_enc: Mapped[str] = mapped_column(Text)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2))
    state: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(200))
    street_enc: Mapped[str] = mapped_column(Text)
    house_number_enc: Mapped[str] = mapped_column(Text)
    postal_code_enc: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
