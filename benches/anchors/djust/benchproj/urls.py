from django.urls import path

from benchapp.views import CounterView, TableView

urlpatterns = [
    path("", CounterView.as_view(), name="counter"),
    path("table", TableView.as_view(), name="table"),
]
