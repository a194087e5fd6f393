from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from storefront.models import Customer, CustomerType
from tests.factories import make_customer


def test_customer_types_follow_the_tree(cast):
    assert cast.parent.customer_type == CustomerType.PARENT
    assert cast.child.customer_type == CustomerType.CHILD
    assert cast.standalone.customer_type == CustomerType.STANDALONE


def test_a_child_cannot_have_children(cast):
    with pytest.raises(ValidationError, match="a child cannot have children"):
        make_customer("Grandchild", parent=cast.child)
    assert not Customer.objects.filter(name="Grandchild").exists()


def test_a_customer_cannot_be_its_own_parent(cast):
    cast.standalone.parent = cast.standalone
    with pytest.raises(ValidationError, match="its own parent"):
        cast.standalone.save()


def test_the_database_refuses_self_parenting_too(cast):
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=cast.standalone.pk).update(parent_id=cast.standalone.pk)


def test_a_parent_cannot_become_a_child(cast):
    cast.parent.parent = cast.standalone
    with pytest.raises(ValidationError, match="has child accounts"):
        cast.parent.save()


def test_clean_reports_the_same_rule_for_forms(cast):
    grandchild = Customer(name="Grandchild", parent=cast.child)
    with pytest.raises(ValidationError) as excinfo:
        grandchild.full_clean()
    assert "parent" in excinfo.value.message_dict


def test_a_standalone_customer_becomes_a_parent_with_its_first_child(cast):
    make_customer("Globex Kids", parent=cast.standalone)
    assert cast.standalone.customer_type == CustomerType.PARENT
