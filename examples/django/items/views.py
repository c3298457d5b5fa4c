"""The items API as plain Django function views returning JSON."""
import json

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .models import Item


def _fields(request):
    try:
        data = json.loads(request.body)
        return {"name": str(data["name"]), "price_cents": int(data["price_cents"]), "qty": int(data["qty"])}
    except (ValueError, KeyError, TypeError):
        return None


def _bad():
    return JsonResponse({"error": "send a JSON object with name, price_cents and qty"}, status=400)


def _missing():
    return JsonResponse({"error": "not found"}, status=404)


@require_http_methods(["GET"])
def health(request):
    return JsonResponse({"ok": True, "items": Item.objects.count()})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def collection(request):
    if request.method == "POST":
        fields = _fields(request)
        if fields is None:
            return _bad()
        item = Item.objects.create(**fields)
        resp = JsonResponse(item.as_dict(), status=201)
        resp["Location"] = "/items/%d" % item.id
        return resp
    try:
        limit = min(int(request.GET.get("limit", 20)), 100)
        offset = max(int(request.GET.get("offset", 0)), 0)
    except ValueError:
        return JsonResponse({"error": "limit and offset are numbers"}, status=400)
    items = Item.objects.all()[offset : offset + limit]
    return JsonResponse([i.as_dict() for i in items], safe=False)


@csrf_exempt
@require_http_methods(["GET", "PUT", "DELETE"])
def member(request, item_id):
    if request.method == "GET":
        item = Item.objects.filter(pk=item_id).first()
        return _missing() if item is None else JsonResponse(item.as_dict())
    if request.method == "PUT":
        fields = _fields(request)
        if fields is None:
            return _bad()
        if Item.objects.filter(pk=item_id).update(**fields) == 0:
            return _missing()
        return JsonResponse(dict(id=item_id, **fields))
    deleted, _ = Item.objects.filter(pk=item_id).delete()
    return _missing() if deleted == 0 else HttpResponse(status=204)
