from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=200)
    price_cents = models.IntegerField()
    qty = models.IntegerField()

    class Meta:
        ordering = ["id"]

    def as_dict(self):
        return {"id": self.id, "name": self.name, "price_cents": self.price_cents, "qty": self.qty}
