from django.urls import path

from . import views

# No app_name: settings.LOGIN_URL and LOGOUT_REDIRECT_URL refer to "login".
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
]
