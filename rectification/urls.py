from django.urls import path

from . import views

app_name = "rectification"

urlpatterns = [
    path("", views.home, name="home"),
    path("problems/", views.problem_list, name="problem_list"),
    path("problems/<int:pk>/", views.problem_detail, name="problem_detail"),
    path("measures/<int:pk>/", views.measure_detail, name="measure_detail"),
]
