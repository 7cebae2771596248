from ninja.security import HttpBearer


class ApiToken(HttpBearer):
    def authenticate(self, request, token):
        from .models import ApiToken as Token

        user = Token.authenticate(token)
        if user:
            request.user = user
        return user
