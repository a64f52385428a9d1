from django.urls import include, path

from . import views

api_key_urls = [
    path("", views.api_keys, name="api_keys"),
    path("new/", views.api_key_create, name="api_key_create"),
    path("<str:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]

# No app_name: settings.LOGIN_URL and LOGOUT_REDIRECT_URL refer to "login".
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("api-keys/", include(api_key_urls)),
]
