"""Fifty items to read, so a read-mostly load finds rows from the start."""
from django.db import migrations


def seed(apps, schema_editor):
    Item = apps.get_model("items", "Item")
    Item.objects.bulk_create([Item(name="item-%d" % i, price_cents=100 * i, qty=i) for i in range(1, 51)])


def unseed(apps, schema_editor):
    apps.get_model("items", "Item").objects.filter(name__regex=r"^item-[0-9]+$", id__lte=50).delete()


class Migration(migrations.Migration):
    dependencies = [("items", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
