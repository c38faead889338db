# Run runs the bootloader on its own thread:
#   libbootloader.so --username NAME --password-stdin --non-interactive
# with the password on its standard input and, in its environment, this APK
# (BOOTLOADER_PACKAGE: the bootloader reads its stamped configuration from
# it), the files dir to install into, and the network's DNS servers. Each
# line it prints goes to the launcher; so does the end.
.class final Lcom/provportal/bootloader/Run;
.super Ljava/lang/Object;
.implements Ljava/lang/Runnable;
.source "Run.smali"

.field final launcher:Lcom/provportal/bootloader/Launcher;
.field final username:Ljava/lang/String;
.field final password:Ljava/lang/String;

.method constructor <init>(Lcom/provportal/bootloader/Launcher;Ljava/lang/String;Ljava/lang/String;)V
    .locals 0
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    iput-object p1, p0, Lcom/provportal/bootloader/Run;->launcher:Lcom/provportal/bootloader/Launcher;
    iput-object p2, p0, Lcom/provportal/bootloader/Run;->username:Ljava/lang/String;
    iput-object p3, p0, Lcom/provportal/bootloader/Run;->password:Ljava/lang/String;
    return-void
.end method

.method public run()V
    .locals 6
    iget-object v0, p0, Lcom/provportal/bootloader/Run;->launcher:Lcom/provportal/bootloader/Launcher;
    :try_start
    invoke-virtual {v0}, Landroid/content/ContextWrapper;->getApplicationInfo()Landroid/content/pm/ApplicationInfo;
    move-result-object v1
    iget-object v1, v1, Landroid/content/pm/ApplicationInfo;->nativeLibraryDir:Ljava/lang/String;
    const-string v2, "/libbootloader.so"
    invoke-virtual {v1, v2}, Ljava/lang/String;->concat(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v1

    const/4 v2, 0x5
    new-array v2, v2, [Ljava/lang/String;
    const/4 v3, 0x0
    aput-object v1, v2, v3
    const/4 v3, 0x1
    const-string v4, "--username"
    aput-object v4, v2, v3
    const/4 v3, 0x2
    iget-object v4, p0, Lcom/provportal/bootloader/Run;->username:Ljava/lang/String;
    aput-object v4, v2, v3
    const/4 v3, 0x3
    const-string v4, "--password-stdin"
    aput-object v4, v2, v3
    const/4 v3, 0x4
    const-string v4, "--non-interactive"
    aput-object v4, v2, v3

    new-instance v1, Ljava/lang/ProcessBuilder;
    invoke-direct {v1, v2}, Ljava/lang/ProcessBuilder;-><init>([Ljava/lang/String;)V
    const/4 v2, 0x1
    invoke-virtual {v1, v2}, Ljava/lang/ProcessBuilder;->redirectErrorStream(Z)Ljava/lang/ProcessBuilder;
    invoke-virtual {v1}, Ljava/lang/ProcessBuilder;->environment()Ljava/util/Map;
    move-result-object v2

    const-string v3, "BOOTLOADER_PACKAGE"
    invoke-virtual {v0}, Landroid/content/ContextWrapper;->getPackageCodePath()Ljava/lang/String;
    move-result-object v4
    invoke-interface {v2, v3, v4}, Ljava/util/Map;->put(Ljava/lang/Object;Ljava/lang/Object;)Ljava/lang/Object;

    const-string v3, "BOOTLOADER_INSTALL_DIR"
    invoke-virtual {v0}, Landroid/content/ContextWrapper;->getFilesDir()Ljava/io/File;
    move-result-object v4
    invoke-virtual {v4}, Ljava/io/File;->getPath()Ljava/lang/String;
    move-result-object v4
    invoke-interface {v2, v3, v4}, Ljava/util/Map;->put(Ljava/lang/Object;Ljava/lang/Object;)Ljava/lang/Object;

    const-string v3, "TMPDIR"
    invoke-virtual {v0}, Landroid/content/ContextWrapper;->getCacheDir()Ljava/io/File;
    move-result-object v4
    invoke-virtual {v4}, Ljava/io/File;->getPath()Ljava/lang/String;
    move-result-object v4
    invoke-interface {v2, v3, v4}, Ljava/util/Map;->put(Ljava/lang/Object;Ljava/lang/Object;)Ljava/lang/Object;

    const-string v3, "BOOTLOADER_DNS"
    invoke-direct {p0}, Lcom/provportal/bootloader/Run;->nameServers()Ljava/lang/String;
    move-result-object v4
    invoke-interface {v2, v3, v4}, Ljava/util/Map;->put(Ljava/lang/Object;Ljava/lang/Object;)Ljava/lang/Object;

    invoke-virtual {v1}, Ljava/lang/ProcessBuilder;->start()Ljava/lang/Process;
    move-result-object v1

    invoke-virtual {v1}, Ljava/lang/Process;->getOutputStream()Ljava/io/OutputStream;
    move-result-object v2
    iget-object v3, p0, Lcom/provportal/bootloader/Run;->password:Ljava/lang/String;
    const-string v4, "\n"
    invoke-virtual {v3, v4}, Ljava/lang/String;->concat(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v3
    const-string v4, "UTF-8"
    invoke-virtual {v3, v4}, Ljava/lang/String;->getBytes(Ljava/lang/String;)[B
    move-result-object v3
    invoke-virtual {v2, v3}, Ljava/io/OutputStream;->write([B)V
    invoke-virtual {v2}, Ljava/io/OutputStream;->close()V

    new-instance v2, Ljava/io/BufferedReader;
    new-instance v3, Ljava/io/InputStreamReader;
    invoke-virtual {v1}, Ljava/lang/Process;->getInputStream()Ljava/io/InputStream;
    move-result-object v4
    const-string v5, "UTF-8"
    invoke-direct {v3, v4, v5}, Ljava/io/InputStreamReader;-><init>(Ljava/io/InputStream;Ljava/lang/String;)V
    invoke-direct {v2, v3}, Ljava/io/BufferedReader;-><init>(Ljava/io/Reader;)V

    :next_line
    invoke-virtual {v2}, Ljava/io/BufferedReader;->readLine()Ljava/lang/String;
    move-result-object v3
    if-eqz v3, :exited
    new-instance v4, Lcom/provportal/bootloader/Line;
    invoke-direct {v4, v0, v3}, Lcom/provportal/bootloader/Line;-><init>(Lcom/provportal/bootloader/Launcher;Ljava/lang/String;)V
    invoke-virtual {v0, v4}, Landroid/app/Activity;->runOnUiThread(Ljava/lang/Runnable;)V
    goto :next_line

    :exited
    invoke-virtual {v1}, Ljava/lang/Process;->waitFor()I
    move-result v1
    if-eqz v1, :done
    new-instance v2, Ljava/lang/StringBuilder;
    const-string v3, "(the bootloader stopped with exit status "
    invoke-direct {v2, v3}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v2, v1}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    const-string v3, ")"
    invoke-virtual {v2, v3}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v2}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v2
    new-instance v3, Lcom/provportal/bootloader/Line;
    invoke-direct {v3, v0, v2}, Lcom/provportal/bootloader/Line;-><init>(Lcom/provportal/bootloader/Launcher;Ljava/lang/String;)V
    invoke-virtual {v0, v3}, Landroid/app/Activity;->runOnUiThread(Ljava/lang/Runnable;)V
    :try_end
    .catch Ljava/lang/Exception; {:try_start .. :try_end} :failed

    :done
    const/4 v1, 0x0
    new-instance v2, Lcom/provportal/bootloader/Line;
    invoke-direct {v2, v0, v1}, Lcom/provportal/bootloader/Line;-><init>(Lcom/provportal/bootloader/Launcher;Ljava/lang/String;)V
    invoke-virtual {v0, v2}, Landroid/app/Activity;->runOnUiThread(Ljava/lang/Runnable;)V
    return-void

    :failed
    move-exception v1
    invoke-virtual {v1}, Ljava/lang/Object;->toString()Ljava/lang/String;
    move-result-object v1
    new-instance v2, Lcom/provportal/bootloader/Line;
    invoke-direct {v2, v0, v1}, Lcom/provportal/bootloader/Line;-><init>(Lcom/provportal/bootloader/Launcher;Ljava/lang/String;)V
    invoke-virtual {v0, v2}, Landroid/app/Activity;->runOnUiThread(Ljava/lang/Runnable;)V
    goto :done
.end method

# nameServers lists the active network's DNS servers, comma-separated: a Go
# program cannot find them on Android, where there is no /etc/resolv.conf.
.method private nameServers()Ljava/lang/String;
    .locals 3
    new-instance v0, Ljava/lang/StringBuilder;
    invoke-direct {v0}, Ljava/lang/StringBuilder;-><init>()V
    :try_start
    iget-object v1, p0, Lcom/provportal/bootloader/Run;->launcher:Lcom/provportal/bootloader/Launcher;
    const-string v2, "connectivity"
    invoke-virtual {v1, v2}, Landroid/app/Activity;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v1
    check-cast v1, Landroid/net/ConnectivityManager;
    invoke-virtual {v1}, Landroid/net/ConnectivityManager;->getActiveNetwork()Landroid/net/Network;
    move-result-object v2
    if-eqz v2, :end
    invoke-virtual {v1, v2}, Landroid/net/ConnectivityManager;->getLinkProperties(Landroid/net/Network;)Landroid/net/LinkProperties;
    move-result-object v1
    if-eqz v1, :end
    invoke-virtual {v1}, Landroid/net/LinkProperties;->getDnsServers()Ljava/util/List;
    move-result-object v1
    invoke-interface {v1}, Ljava/util/List;->iterator()Ljava/util/Iterator;
    move-result-object v1
    :next_server
    invoke-interface {v1}, Ljava/util/Iterator;->hasNext()Z
    move-result v2
    if-eqz v2, :end
    invoke-interface {v1}, Ljava/util/Iterator;->next()Ljava/lang/Object;
    move-result-object v2
    check-cast v2, Ljava/net/InetAddress;
    invoke-virtual {v2}, Ljava/net/InetAddress;->getHostAddress()Ljava/lang/String;
    move-result-object v2
    invoke-virtual {v0, v2}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    const-string v2, ","
    invoke-virtual {v0, v2}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    goto :next_server
    :try_end
    .catch Ljava/lang/Exception; {:try_start .. :try_end} :end

    :end
    invoke-virtual {v0}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method
