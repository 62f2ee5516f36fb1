"""The HTTP functions' cold-start floor (issue 21): a FastAPI app with one typed route behind Mangum, Powertools
Logger/Metrics, SQLAlchemy Core with the pg8000 dialect (engine built, not connected) and pydantic-settings.

What any FastAPI Lambda of this kind imports before it can answer; bench_cold imports it in a fresh interpreter.
"""

from aws_lambda_powertools import Logger, Metrics
from fastapi import FastAPI
from mangum import Mangum
from pydantic import BaseModel
from pydantic_settings import BaseSettings
from sqlalchemy import Column, MetaData, String, Table, create_engine, select


class Settings(BaseSettings):
    database_url: str = "postgresql+pg8000://floor:floor@localhost:5432/floor"


class Item(BaseModel):
    id: str
    status: str


settings = Settings()
engine = create_engine(settings.database_url)  # loads pg8000; connects on first use
items = Table("items", MetaData(), Column("id", String, primary_key=True), Column("status", String))
by_id = select(items.c.id, items.c.status).where(items.c.id == "x")
logger = Logger(service="floor")
metrics = Metrics(namespace="Floor", service="floor")
app = FastAPI()


@app.get("/items/{id}")
def item(id: str) -> Item:
    return Item(id=id, status="completed")


handler = logger.inject_lambda_context(metrics.log_metrics(Mangum(app, lifespan="off")))
