from django.urls import path

from items import views

urlpatterns = [
    path("", views.health),
    path("items", views.collection),
    path("items/<int:item_id>", views.member),
]
