"""Tables of the sandbox. Nothing touches a database until `make_engine` / `init_db` are called."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, Date, DateTime, ForeignKey, Integer, String, Text, create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import declarative_base, relationship, sessionmaker

# SQLAlchemy 1.4 ships no type information (no py.typed): to mypy its declarative base is Any,
# and a base class of type Any must be declared so.
Base: Any = declarative_base()


# Before Dossier: mypy types the lambda ordering Dossier.history only once these columns are known.
class StatusChange(Base):
    __tablename__ = "status_history"

    id = Column(Integer, primary_key=True)
    dossier_id = Column(ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=False, index=True)
    status = Column(Integer, nullable=False)
    at = Column(DateTime, nullable=False)  # naive UTC
    note = Column(Text)

    dossier = relationship("Dossier", back_populates="history")


class Dossier(Base):
    __tablename__ = "dossiers"

    id = Column(Integer, primary_key=True)
    code = Column(String(40), nullable=False, unique=True)
    procedure_id = Column(String(100), nullable=False)
    procedure_name = Column(String(300), nullable=False)
    status = Column(Integer, nullable=False)
    # Kept only to check the verification value; never sent in an answer.
    applicant_name = Column(String(100), nullable=False)
    applicant_phone = Column(String(11), nullable=False)
    applicant_id_number = Column(String(12))
    applicant_locality = Column(String(100))
    agency_code = Column(String(20), nullable=False)
    agency_name = Column(String(200), nullable=False)
    received_at = Column(DateTime)  # naive UTC
    due_date = Column(Date)
    missing_documents = Column(JSON, nullable=False, default=list)
    continue_url = Column(String(500))
    channel = Column(String(32))
    created_at = Column(DateTime, nullable=False)

    history = relationship(
        "StatusChange", back_populates="dossier", lazy="selectin",
        order_by=lambda: [StatusChange.at, StatusChange.id], cascade="all, delete-orphan",
    )


class Webhook(Base):
    __tablename__ = "webhooks"

    id = Column(String(36), primary_key=True)
    url = Column(String(2000), nullable=False, unique=True)
    secret = Column(String(256), nullable=False)
    created_at = Column(DateTime, nullable=False)


def make_engine(db_url: str) -> Engine:
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url, future=True, pool_pre_ping=True)


def init_db(engine: Engine) -> None:
    # create_all only adds missing tables, so it is safe on every start.
    Base.metadata.create_all(engine)


def session_factory(engine: Engine) -> sessionmaker:
    # expire_on_commit=False: answers are built from objects after their transaction ends.
    return sessionmaker(engine, future=True, expire_on_commit=False)
