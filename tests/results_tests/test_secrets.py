"""mask_url / mask_secrets: every form of secret a store URL or a storage URI carries, masked; nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import make_url

from hpo.results import Store, StoreError, mask_secrets, mask_url
from hpo.results.store.db import mask


@pytest.mark.parametrize(("url", "shown"), [
    # user:password@ keeps the user
    ("postgresql+psycopg2://hpo:s3cr3t@db.example:5432/hpo", "postgresql+psycopg2://hpo:***@db.example:5432/hpo"),
    ("redis://:s3cr3t@cache:6379/0", "redis://:***@cache:6379/0"),
    # a password holding `@` or `?` unescaped is masked whole (SQLAlchemy reads it to the last `@`)
    ("mysql+pymysql://hpo:p@ss@db/hpo", "mysql+pymysql://hpo:***@db/hpo"),
    ("postgresql://hpo:pa?ss@db/hpo", "postgresql://hpo:***@db/hpo"),
    # secret query parameters, the others as written
    ("postgresql+psycopg2://hpo@127.0.0.1:5432/hpo?password=s3cr3t",
     "postgresql+psycopg2://hpo@127.0.0.1:5432/hpo?password=***"),
    ("postgresql://hpo@db/hpo?sslmode=require&sslpassword=k3y&application_name=hpo",
     "postgresql://hpo@db/hpo?sslmode=require&sslpassword=***&application_name=hpo"),
    ("postgresql://hpo@db/hpo?token=t0k&passwd=p&pwd=q", "postgresql://hpo@db/hpo?token=***&passwd=***&pwd=***"),
    ("postgresql://hpo@127.0.0.1/hpo?password=p@ss", "postgresql://hpo@127.0.0.1/hpo?password=***"),
    # names in any case and spelling
    ("postgresql://hpo@db/hpo?PassWord=a&SSLPASSWORD=b&Api-Key=c&X-Amz-Security-Token=d&Sig=e",
     "postgresql://hpo@db/hpo?PassWord=***&SSLPASSWORD=***&Api-Key=***&X-Amz-Security-Token=***&Sig=***"),
    ("mongodb://hpo@db/hpo?authSource=admin&auth=s3cr3t&client_secret=x&X-Amz-Credential=y",
     "mongodb://hpo@db/hpo?authSource=admin&auth=***&client_secret=***&X-Amz-Credential=***"),
    # storage URIs: KEY:SECRET@ (an AWS secret key holds `/` and `+`) and pyarrow's query credentials
    ("s3://AKIAEXAMPLE:wJalr/XUtnF+EMI@bucket/runs", "s3://AKIAEXAMPLE:***@bucket/runs"),
    ("s3://bucket/runs?region=us-east-1&access_key=AKIAEXAMPLE&secret_key=wJalrXUtnF&session_token=FwoG",
     "s3://bucket/runs?region=us-east-1&access_key=***&secret_key=***&session_token=***"),
    ("gs://bucket/runs?access_token=ya29", "gs://bucket/runs?access_token=***"),
    # a URL SQLAlchemy cannot parse (the port is not a number) is masked all the same
    ("postgresql://hpo:s3cr3t@db:port/hpo?token=t0k", "postgresql://hpo:***@db:port/hpo?token=***"),
    # masking twice changes nothing
    ("postgresql://hpo:***@db/hpo?password=***", "postgresql://hpo:***@db/hpo?password=***"),
])
def test_mask_url_masks_each_form(url: str, shown: str) -> None:
    assert mask_url(url) == shown


@pytest.mark.parametrize("url", [
    "sqlite:////tmp/x.sqlite", "sqlite://", "postgresql://hpo@db:5432/hpo?sslmode=require", "s3://bucket/runs",
    "gs://bucket/user@example.com/runs", "file:///tmp/runs", "file:///tmp/a:b@c", "/home/me/runs/ray", "runs/ray",
    "not a url", "", "://", "x://?=&&=",
])
def test_mask_url_leaves_urls_without_secrets_and_plain_paths_as_written(url: str) -> None:
    assert mask_url(url) == url


def test_mask_secrets_masks_every_url_in_free_text() -> None:
    spec_yaml = ("name: demo\n"
                 "storage: s3://AKIAEXAMPLE:wJalrXUtnF@bucket/runs\n"
                 "fixed: {data: 'gs://bucket/data?access_token=ya29', note: see https://example.com/docs}\n")
    assert mask_secrets(spec_yaml) == ("name: demo\n"
                                       "storage: s3://AKIAEXAMPLE:***@bucket/runs\n"
                                       "fixed: {data: 'gs://bucket/data?access_token=***', "
                                       "note: see https://example.com/docs}\n")
    error = "storage: cannot reach s3://bucket/x?secret_key=wJalr: AccessDenied (retried s3://K:S@bucket/x)."
    assert mask_secrets(error) == (
        "storage: cannot reach s3://bucket/x?secret_key=***: AccessDenied (retried s3://K:***@bucket/x).")


def test_mask_secrets_leaves_text_without_urls_as_written() -> None:
    text = "ValueError: password=hunter2 is not a URL\n  at /home/me/train.py:12"
    assert mask_secrets(text) == text


def test_db_mask_is_the_same_rule_for_strings_and_sqlalchemy_urls() -> None:
    url = "postgresql+psycopg2://hpo:pw@127.0.0.1:5432/hpo?password=s3cr3t&sslpassword=k3y"
    shown = "postgresql+psycopg2://hpo:***@127.0.0.1:5432/hpo?password=***&sslpassword=***"
    assert mask(url) == shown
    assert mask(make_url(url)) == shown


def test_store_url_masked_hides_a_password_in_the_query(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}?password=s3cr3t"
    with pytest.warns(Warning, match="not accepted by the pysqlite driver"), Store.open(url, home=tmp_path) as store:
        assert store.url_masked == f"sqlite:///{tmp_path / 'store.sqlite'}?password=***"
        assert repr(store) == f"Store('sqlite:///{tmp_path / 'store.sqlite'}?password=***')"


def test_an_unparsable_store_url_is_refused_with_its_secrets_masked() -> None:
    with pytest.raises(StoreError) as info:
        Store.open("postgresql://hpo:s3cr3t@db:port/hpo?token=t0k")
    assert str(info.value) == ("store URL 'postgresql://hpo:***@db:port/hpo?token=***' is not a SQLAlchemy URL "
                               "(e.g. sqlite:///runs/store.sqlite)")
