"""Pages: the room list and one page per room."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from . import selectors, services


@login_required
def index(request: HttpRequest) -> HttpResponse:
    error = None
    if "room" in request.GET:
        try:
            name = services.room_name_validate(name=request.GET["room"].strip())
        except services.InvalidRoomName as exc:
            error = str(exc)
        else:
            return redirect("chat:room", room_name=name)
    context = {"rooms": selectors.room_list_recent(), "error": error}
    return render(request, "chat/index.html", context)


@login_required
def room(request: HttpRequest, room_name: str) -> HttpResponse:
    try:
        name = services.room_name_validate(name=room_name)
    except services.InvalidRoomName as exc:
        raise Http404(str(exc)) from None
    return render(request, "chat/room.html", {"room_name": name})
