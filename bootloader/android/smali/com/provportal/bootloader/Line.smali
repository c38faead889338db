# Line carries one line of the bootloader's output to the main thread:
# "install-apk PATH" hands PATH to the system installer, any other line is
# shown, and no line at all (null) says the bootloader has finished.
.class final Lcom/provportal/bootloader/Line;
.super Ljava/lang/Object;
.implements Ljava/lang/Runnable;
.source "Line.smali"

.field final launcher:Lcom/provportal/bootloader/Launcher;
.field final text:Ljava/lang/String;

.method constructor <init>(Lcom/provportal/bootloader/Launcher;Ljava/lang/String;)V
    .locals 0
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    iput-object p1, p0, Lcom/provportal/bootloader/Line;->launcher:Lcom/provportal/bootloader/Launcher;
    iput-object p2, p0, Lcom/provportal/bootloader/Line;->text:Ljava/lang/String;
    return-void
.end method

.method public run()V
    .locals 3
    iget-object v0, p0, Lcom/provportal/bootloader/Line;->launcher:Lcom/provportal/bootloader/Launcher;
    iget-object v1, p0, Lcom/provportal/bootloader/Line;->text:Ljava/lang/String;
    if-nez v1, :a_line
    invoke-virtual {v0}, Lcom/provportal/bootloader/Launcher;->finished()V
    return-void

    :a_line
    const-string v2, "install-apk "
    invoke-virtual {v1, v2}, Ljava/lang/String;->startsWith(Ljava/lang/String;)Z
    move-result v2
    if-eqz v2, :shown
    const/16 v2, 0xc
    invoke-virtual {v1, v2}, Ljava/lang/String;->substring(I)Ljava/lang/String;
    move-result-object v1
    invoke-virtual {v0, v1}, Lcom/provportal/bootloader/Launcher;->install(Ljava/lang/String;)V
    return-void

    :shown
    invoke-virtual {v0, v1}, Lcom/provportal/bootloader/Launcher;->show(Ljava/lang/String;)V
    return-void
.end method
